// Uploads one file to PicoShare with tus-js-client, as a Node program would (issue 19's tests,
// tests/issue_19_tus_clients.rs). One argument, a JSON object:
//   endpoint     the creation URL (…/api/tus/ or …/api/guest/{id}/tus/)
//   file         path of the file to send (read slice by slice, never whole)
//   chunkSize    bytes per PATCH
//   headers      extra request headers (the admin's Cookie)
//   metadata     Upload-Metadata, as an object of strings
//   uploadUrl    resume this upload instead of creating one (HEAD first, then PATCH)
//   retryDelays  milliseconds between retries after a failed request
// Prints one JSON object per line: {"event":"request",method,offset}, {"event":"head",offset},
// {"event":"url",url}, {"event":"chunk",offset}, then {"event":"success",entryId,url} (exit 0)
// or {"event":"error",message} (exit 1).
import fs from "node:fs";
import * as tus from "tus-js-client";

const o = JSON.parse(process.argv[2]);
const say = (event, fields) => console.log(JSON.stringify({ event, ...fields }));

const upload = new tus.Upload(fs.createReadStream(o.file), {
  endpoint: o.endpoint,
  uploadUrl: o.uploadUrl || null,
  chunkSize: o.chunkSize,
  headers: o.headers || {},
  metadata: o.metadata || {},
  retryDelays: o.retryDelays || null,
  onBeforeRequest(req) {
    say("request", { method: req.getMethod(), offset: req.getHeader("Upload-Offset") ?? null });
  },
  onAfterResponse(req, res) {
    if (req.getMethod() === "HEAD") say("head", { status: res.getStatus(), offset: res.getHeader("Upload-Offset") });
  },
  onUploadUrlAvailable() {
    say("url", { url: upload.url });
  },
  onChunkComplete(_size, accepted) {
    say("chunk", { offset: accepted });
  },
  onSuccess({ lastResponse }) {
    say("success", { entryId: lastResponse.getHeader("PicoShare-Entry-Id"), url: upload.url });
    process.exit(0);
  },
  onError(err) {
    say("error", { message: String(err) });
    process.exit(1);
  },
});
upload.start();
