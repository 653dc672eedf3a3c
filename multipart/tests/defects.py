#!/usr/bin/env python3
"""The measurements behind multipart/README.md: uploads the multipart bodies that multipart
0.18 got wrong to a picoshare binary and prints what each answer was and what was stored.

    python3 multipart/tests/defects.py path/to/picoshare

Needs curl. Not part of `make test` (tests/issue_13_multipart.rs pins the same cases).
"""
import hashlib, json, os, re, subprocess, sys, tempfile, threading, time, urllib.request

BIN = sys.argv[1]
SECRET = "measure-passphrase"
d = tempfile.mkdtemp(prefix="i13-measure-")
p = subprocess.Popen([BIN, "--db", f"{d}/store.db", "--listen", "127.0.0.1", "--port", "0"],
                     env={**os.environ, "PS_SHARED_SECRET": SECRET}, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True)
url = None
for line in p.stdout:
    m = re.search(r"listening on (http://\S+)", line)
    if m:
        url = m.group(1).rstrip("/"); break
# Keep reading the server's log, or it blocks once the pipe is full.
threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
jar = f"{d}/jar"
subprocess.run(["curl", "-sS", "-c", jar, "-H", "Content-Type: application/json", "--data",
                json.dumps({"sharedSecretKey": SECRET}), f"{url}/api/auth"], check=True, capture_output=True)
EXP = "2999-12-31T00:00:00Z"

def post(body, boundary="XX", ct=None):
    f = f"{d}/body"
    open(f, "wb").write(body)
    ct = ct or f"multipart/form-data; boundary={boundary}"
    r = subprocess.run(["curl", "-sS", "-b", jar, "-H", f"Content-Type: {ct}", "-H", "Expect:",
                        "--data-binary", f"@{f}", "-w", "\n%{http_code}",
                        f"{url}/api/entry?expiration={EXP}"], capture_output=True)
    out = r.stdout.rsplit(b"\n", 1)
    return int(out[1]), out[0].decode(errors="replace").strip()

def curl_form(*args):
    r = subprocess.run(["curl", "-sS", "-b", jar, "-H", "Expect:", *args, "-w", "\n%{http_code}",
                        f"{url}/api/entry?expiration={EXP}"], capture_output=True, cwd=d)
    out = r.stdout.rsplit(b"\n", 1)
    return int(out[1]), out[0].decode(errors="replace").strip()

def stored(status, text):
    if status != 200:
        return f"{status} {text!r}"
    i = json.loads(text)["id"]
    data = urllib.request.urlopen(f"{url}/-{i}").read()
    info = subprocess.run(["curl", "-sS", "-b", jar, f"{url}/api/entry/{i}"], capture_output=True).stdout
    import sqlite3
    c = sqlite3.connect(f"{d}/store.db")
    name, ct = c.execute("SELECT filename, content_type FROM entries WHERE id=?", (i,)).fetchone()
    return f"200 stored {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()[:12]} name {name!r} type {ct!r}", data

def part(name, filename, data, extra=b"", boundary=b"XX"):
    h = b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
    if filename is not None:
        h += b"; filename=\"" + filename + b"\""
    return h + b"\r\n" + extra + b"\r\n" + data + b"\r\n"

def run(label, res):
    r = stored(*res)
    s = r if isinstance(r, str) else r[0]
    print(f"- {label}: {s}")
    return r

# 1. the reproduction
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc--XX--tail\r\n--XX--\r\n'
run("issue repro (13 content bytes `abc--XX--tail`)", post(body))
# 2. 3 MiB file containing its boundary string (not at a line start)
import random
rnd = random.Random(1)
big = bytearray(rnd.randbytes((3 << 20) + 1000))
big[(3 << 20) - 1] = ord("x")
B = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"
at = 3 << 20
big[at:at] = b"--" + B + b"--"  # the delimiter string inside the data, not at a line start
big = bytes(big)
body = part(b"file", b"big.bin", big, boundary=B) + b"--" + B + b"--\r\n"
r = run(f"3 MiB file ({len(big)} bytes) holding `--{B.decode()}--` mid-line at offset {at}", post(body, boundary=B.decode()))
print(f"  sent sha256 {hashlib.sha256(big).hexdigest()[:12]}")
# 3. content with CRLF--XX followed by other bytes
data = b"line1\r\n--XXnot-a-delimiter\r\nline3"
run("content `line1\\r\\n--XXnot-a-delimiter\\r\\nline3`", post(part(b"file", b"c.txt", data) + b"--XX--\r\n"))
# 4. filename with ';' via curl -F
open(f"{d}/x", "wb").write(b"hello")
run("curl -F 'file=@x;filename=\"données été; v2.csv\"'", curl_form("-F", 'file=@x;filename="données été; v2.csv"'))
# 5. filename* preferred
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="fallback.txt"; filename*=UTF-8\'\'%E2%9C%93%20ok.txt\r\n\r\nabc\r\n--XX--\r\n'
run("filename=\"fallback.txt\"; filename*=UTF-8''%E2%9C%93%20ok.txt", post(body))
# 6. escaped quote
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="say \\"hi\\".txt"\r\n\r\nabc\r\n--XX--\r\n'
run('filename="say \\"hi\\".txt"', post(body))
# 7. oversized part header (100 KB header line)
body = b'--XX\r\nX-Pad: ' + b"p" * 100_000 + b'\r\nContent-Disposition: form-data; name="file"; filename="h.txt"\r\n\r\nabc\r\n--XX--\r\n'
run("100 KB part header", post(body))
# 8. 10 KB filename
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="' + b"n" * 10_000 + b'.txt"\r\n\r\nabc\r\n--XX--\r\n'
run("10 KB filename", post(body))
# 9. NUL in filename
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n\r\nabc\r\n--XX--\r\n'
run("NUL in filename", post(body))
# 10. five part headers
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="five.txt"\r\nContent-Type: text/plain\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n\r\nabc\r\n--XX--\r\n'
run("a part with 5 headers", post(body))
# 11. transport padding after a delimiter
body = b'--XX  \r\nContent-Disposition: form-data; name="file"; filename="pad.txt"\r\n\r\nabc\r\n--XX \t\r\nContent-Disposition: form-data; name="note"\r\n\r\nn\r\n--XX--  \r\n'
run("transport padding after delimiters", post(body))
# 12. part Content-Type that is not a MIME type
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="t.txt"\r\nContent-Type: not a mime type\r\n\r\nabc\r\n--XX--\r\n'
run("part Content-Type `not a mime type`", post(body))
# 13. quoted boundary with a space
body = b'--a b\r\nContent-Disposition: form-data; name="file"; filename="q.txt"\r\n\r\nabc\r\n--a b--\r\n'
run('boundary="a b" (quoted, with a space)', post(body, ct='multipart/form-data; boundary="a b"'))
# 14. the close delimiter without the final CRLF
body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="e.txt"\r\n\r\nabc\r\n--XX--'
run("close delimiter with no CRLF after it", post(body))
# 15. file content ending with CR
body = part(b"file", b"cr.txt", b"abc\r") + b"--XX--\r\n"
run("content `abc\\r` (ends with CR)", post(body))
# 16. Content-Disposition with uppercase names and no quotes
body = b'--XX\r\ncontent-disposition: FORM-DATA; NAME=file; FILENAME=plain.txt\r\n\r\nabc\r\n--XX--\r\n'
run("content-disposition: FORM-DATA; NAME=file; FILENAME=plain.txt", post(body))
# 17. the boundary string inside content right after CRLF, then a space and text
data = b"x\r\n--XX y"
run("content `x\\r\\n--XX y`", post(part(b"file", b"s.txt", data) + b"--XX--\r\n"))
# 18. files of every size around the 8 and 16 KiB read-buffer edges
differ = []
for n in list(range(8100, 8300)) + list(range(16300, 16400)):
    data = bytes(rnd.getrandbits(8) for _ in range(n)).replace(b"\r", b"x")
    r = stored(*post(part(b"file", b"e.bin", data) + b"--XX--\r\n"))
    if isinstance(r, str) or r[1] != data:
        differ.append((n, r if isinstance(r, str) else f"stored {len(r[1])} bytes"))
print(f"- 300 files of sizes 8100-8299 and 16300-16399 bytes: {len(differ)} stored differently"
      + "".join(f"; {n} bytes: {what}" for n, what in differ))
p.terminate(); p.wait()
