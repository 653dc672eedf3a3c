"""Uploads one file to PicoShare with tuspy, as a Python program would (issue 19's tests,
tests/issue_19_tus_clients.rs). One argument, a JSON object:
  endpoint    the creation URL (.../api/tus/ or .../api/guest/{id}/tus/)
  file        path of the file to send (read chunk by chunk, never whole)
  chunkSize   bytes per PATCH
  headers     extra request headers (the admin's Cookie)
  metadata    Upload-Metadata, as an object of strings
  uploadUrl   resume this upload instead of creating one (tuspy asks HEAD for the offset)
Prints one JSON object per line: {"event":"url",url}, {"event":"resumed",offset},
{"event":"chunk",offset}, then {"event":"success",entryId,url} (exit 0), or
{"event":"error",message} (exit 1).
"""
import json
import sys

from tusclient import client


def say(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main():
    o = json.loads(sys.argv[1])
    c = client.TusClient(o["endpoint"], headers=o.get("headers") or {})
    try:
        uploader = c.uploader(
            o["file"],
            chunk_size=o["chunkSize"],
            metadata=o.get("metadata") or {},
            url=o.get("uploadUrl"),
        )
        if uploader.url:
            say("resumed", offset=uploader.offset)
        else:
            uploader.set_url(uploader.create_url())
            say("url", url=uploader.url)
        size = uploader.get_file_size()
        uploader.stop_at = size
        while uploader.offset < size:
            uploader.upload_chunk()
            say("chunk", offset=uploader.offset)
        headers = uploader.request.response_headers
        say("success", entryId=headers.get("picoshare-entry-id"), url=uploader.url)
    except Exception as e:  # the test reads the reason
        say("error", message=repr(e))
        sys.exit(1)


main()
