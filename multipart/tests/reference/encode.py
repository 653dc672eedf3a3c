"""The reference encoder for the differential tests: Python's standard `email` package builds
each multipart/form-data body (delimiters, part headers, parameter quoting, RFC 2231
`filename*`), independently of the Rust code under test.

Input on stdin, one case per line group (every value hex-encoded, `-` for none):
    POLICY BOUNDARY PREAMBLE EPILOGUE NPARTS
    NAME FILENAME FORM CONTENT_TYPE DATA        (NPARTS lines)
POLICY: `compat32` (RFC 2231 `filename*` for non-ASCII names), `http` (email.policy.HTTP,
the same), `utf8` (raw UTF-8 in quoted strings, as browsers send). FORM: `plain` (whatever the
policy produces) or `both` (a `filename` fallback and a `filename*` the reader must prefer).
Output, one line per case, hex-encoded: the request Content-Type, the body, and each part's
Content-Type value as written (`-` for none; the newer policies rewrite parameters, e.g.
`charset="utf-8"`).
"""
import io
import sys
import email.policy
import email.utils
from email.generator import BytesGenerator
from email.message import Message


class Binary(BytesGenerator):
    """Writes part content byte for byte. The stock generator rewrites every line ending in
    text payloads to the policy's CRLF, which would corrupt binary files; the framing around
    the content (delimiters, headers) is still the email package's own."""

    def _handle_text(self, msg):
        if msg._payload is not None:
            self.write(msg._payload)

    _writeBody = _handle_text


POLICIES = {
    "compat32": email.policy.compat32.clone(linesep="\r\n", max_line_length=0),
    "http": email.policy.HTTP,
    "utf8": email.policy.HTTP.clone(utf8=True),
}


def text(h):
    return None if h == "-" else bytes.fromhex(h).decode("utf-8")


def raw(h):
    return None if h == "-" else bytes.fromhex(h)


def encode(head, parts):
    policy_name, boundary, preamble, epilogue, _ = head
    policy = POLICIES[policy_name]
    root = Message(policy=policy)
    root["Content-Type"] = "multipart/form-data"
    root.set_boundary(text(boundary))
    root.preamble = text(preamble)
    root.epilogue = text(epilogue)
    for name, filename, form, content_type, data in parts:
        part = Message(policy=policy)
        params = {"name": text(name)}
        filename = text(filename)
        if filename is not None and form == "both":
            params["filename"] = "fallback.bin"
            params["filename*"] = email.utils.encode_rfc2231(filename, "utf-8")
        elif filename is not None:
            params["filename"] = filename
        part.add_header("Content-Disposition", "form-data", **params)
        if content_type != "-":
            part["Content-Type"] = text(content_type)
        # Bytes as the email package keeps them: surrogate-escaped text, written back as is.
        part.set_payload(raw(data).decode("ascii", "surrogateescape"))
        root.attach(part)
    out = io.BytesIO()
    Binary(out, mangle_from_=False, policy=policy).flatten(root)
    message = out.getvalue()
    # The message's own header block carries the Content-Type; the rest is the HTTP body.
    head_end = message.index(b"\r\n\r\n")
    content_type = root["Content-Type"]
    written = []
    for part in root.get_payload():
        value = part.get("Content-Type")
        if value is None:
            written.append("-")
            continue
        # Exactly what the generator wrote for this header: policy.fold_binary(name, value).
        line = policy.fold_binary("Content-Type", value)
        written.append(line.split(b":", 1)[1].strip().hex())
    return content_type.encode(), message[head_end + 4:], written


def main():
    lines = iter(sys.stdin.read().split("\n"))
    for line in lines:
        if not line.strip():
            continue
        head = line.split(" ")
        parts = [next(lines).split(" ") for _ in range(int(head[4]))]
        content_type, body, written = encode(head, parts)
        sys.stdout.write(" ".join([content_type.hex(), body.hex() or "-", *written]) + "\n")


main()
