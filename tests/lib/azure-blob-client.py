#!/usr/bin/env python3
"""An Azure Blob client written from Microsoft's REST documentation with
Python's standard library only (hmac, hashlib, http.client): independent of
slipway's C code, for checking what `slipway upload azure` wrote.

    azure-blob-client.py ENDPOINT create-container CONTAINER
    azure-blob-client.py ENDPOINT download CONTAINER BLOB FILE
    azure-blob-client.py ENDPOINT properties CONTAINER BLOB     (JSON: the headers, lowercased)
    azure-blob-client.py ENDPOINT page-ranges CONTAINER BLOB    (JSON: [[start, end], ...])
    azure-blob-client.py ENDPOINT sas CONTAINER BLOB EXPIRY [KEY]   (a service SAS query string, rcw)

ENDPOINT is the emulator's path-style blob endpoint, http://127.0.0.1:PORT/devstoreaccount1;
the account is the emulator's well-known one (Shared Key)."""
import base64, hashlib, hmac, http.client, json, sys, time, urllib.parse
from email.utils import formatdate

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
VERSION = "2021-08-06"


def sign(verb, path, query, headers):
    """'Authorize with Shared Key': the string-to-sign of version 2015-02-21+."""
    std = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
           "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    h = {k.lower(): v.strip() for k, v in headers.items()}
    vals = [h.get(k, "") for k in std]
    if vals[2] == "0":
        vals[2] = ""
    canon_h = "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-ms-"))
    res = f"/{ACCOUNT}{path}"
    for k in sorted(query):
        res += f"\n{k.lower()}:{','.join(sorted(query[k]))}"
    sts = verb + "\n" + "\n".join(vals) + "\n" + canon_h + res
    mac = hmac.new(base64.b64decode(KEY), sts.encode(), hashlib.sha256).digest()
    return f"SharedKey {ACCOUNT}:{base64.b64encode(mac).decode()}"


def request(endpoint, verb, subpath, query=None, headers=None, body=b"", out=None):
    u = urllib.parse.urlsplit(endpoint)
    path = u.path + subpath
    query = query or {}
    headers = dict(headers or {})
    headers["x-ms-date"] = formatdate(usegmt=True)
    headers["x-ms-version"] = VERSION
    if verb == "PUT":
        headers["Content-Length"] = str(len(body))
    headers["Authorization"] = sign(verb, path, query, headers)
    qs = urllib.parse.urlencode([(k, v) for k in query for v in query[k]])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    c.request(verb, path + ("?" + qs if qs else ""), body=body if verb == "PUT" else None, headers=headers)
    r = c.getresponse()
    if out is not None and r.status in (200, 206):
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            out.write(b)
        data = b""
    else:
        data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def main():
    endpoint, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "create-container":
        st, _, body = request(endpoint, "PUT", f"/{args[0]}", {"restype": ["container"]})
        if st not in (201, 409):
            sys.exit(f"create container: HTTP {st} {body[:300]!r}")
    elif cmd == "download":
        with open(args[2], "wb") as f:
            st, h, body = request(endpoint, "GET", f"/{args[0]}/{args[1]}", out=f)
        if st != 200:
            sys.exit(f"download: HTTP {st} {body[:300]!r}")
    elif cmd == "properties":
        st, h, _ = request(endpoint, "HEAD", f"/{args[0]}/{args[1]}")
        h["status"] = st
        print(json.dumps(h))
    elif cmd == "page-ranges":
        import re
        st, h, body = request(endpoint, "GET", f"/{args[0]}/{args[1]}", {"comp": ["pagelist"]})
        if st != 200:
            sys.exit(f"page ranges: HTTP {st} {body[:300]!r}")
        print(json.dumps([[int(a), int(b)] for a, b in re.findall(rb"<Start>(\d+)</Start><End>(\d+)</End>", body)]))
    elif cmd == "sas":
        # "Create a service SAS", version 2019-12-12: blob resource, permissions rcw
        container, blob, expiry = args[0], args[1], args[2]
        key = args[3] if len(args) > 3 else KEY
        sv, sp, sr, spr = "2019-12-12", "rcw", "b", "https,http"
        canon = f"/blob/{ACCOUNT}/{container}/{blob}"
        sts = "\n".join([sp, "", expiry, canon, "", "", spr, sv, sr, "", "", "", "", "", ""])
        sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
        print(urllib.parse.urlencode({"sv": sv, "spr": spr, "se": expiry, "sr": sr, "sp": sp, "sig": sig}))
    else:
        sys.exit(f"unknown command {cmd}")


main()
