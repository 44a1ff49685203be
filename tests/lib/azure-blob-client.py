#!/usr/bin/env python3
"""An Azure Blob client written from Microsoft's REST documentation with
Python's standard library only (hmac, hashlib, http.client): independent of
slipway's C code, for checking what `slipway upload azure` wrote.

    azure-blob-client.py ENDPOINT create-container CONTAINER
    azure-blob-client.py ENDPOINT download CONTAINER BLOB FILE
    azure-blob-client.py ENDPOINT compare CONTAINER BLOB FILE
        (downloads the whole blob, comparing it with FILE as it comes; JSON: equal,
         the first differing offset, the downloaded bytes' MD5 in base64)
    azure-blob-client.py ENDPOINT compare-written CONTAINER BLOB FILE
        (the same proof with less traffic: the blob's page ranges hold FILE's bytes,
         and FILE is all zeros outside them, which is what a page blob reads as there)
    azure-blob-client.py ENDPOINT properties CONTAINER BLOB     (JSON: the headers, lowercased)
    azure-blob-client.py ENDPOINT page-ranges CONTAINER BLOB    (JSON: [[start, end], ...])
    azure-blob-client.py ENDPOINT sas CONTAINER BLOB EXPIRY [KEY]   (a service SAS query string, rcw)

ENDPOINT is the emulator's path-style blob endpoint, http://127.0.0.1:PORT/devstoreaccount1;
the account is the emulator's well-known one (Shared Key)."""
import base64, hashlib, hmac, http.client, json, os, sys, time, urllib.parse
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


class Comparer:
    """A download sink that compares what arrives with a file, and hashes it."""

    def __init__(self, f, offset=0):
        self.f, self.pos, self.first_difference = f, offset, None
        self.md5 = hashlib.md5()

    def write(self, b):
        self.md5.update(b)
        if self.first_difference is None:
            want = os.pread(self.f, len(b), self.pos)
            if want != b:
                i = next((i for i in range(min(len(b), len(want))) if b[i] != want[i]), min(len(b), len(want)))
                self.first_difference = self.pos + i
        self.pos += len(b)


def compare(endpoint, container, blob, path):
    f = os.open(path, os.O_RDONLY)
    size = os.fstat(f).st_size
    c = Comparer(f)
    st, h, body = request(endpoint, "GET", f"/{container}/{blob}", out=c)
    if st != 200:
        sys.exit(f"download: HTTP {st} {body[:300]!r}")
    if c.first_difference is None and c.pos != size:
        c.first_difference = min(c.pos, size)
    return {"equal": c.first_difference is None, "first_difference": c.first_difference, "bytes": c.pos,
            "md5": base64.b64encode(c.md5.digest()).decode()}


def page_ranges(endpoint, container, blob):
    import re
    st, h, body = request(endpoint, "GET", f"/{container}/{blob}", {"comp": ["pagelist"]})
    if st != 200:
        sys.exit(f"page ranges: HTTP {st} {body[:300]!r}")
    return [[int(a), int(b)] for a, b in re.findall(rb"<Start>(\d+)</Start><End>(\d+)</End>", body)]


def compare_written(endpoint, container, blob, path):
    f = os.open(path, os.O_RDONLY)
    size = os.fstat(f).st_size
    st, h, _ = request(endpoint, "HEAD", f"/{container}/{blob}")
    if st != 200 or int(h["content-length"]) != size:
        return {"equal": False, "why": f"HTTP {st}, blob size {h.get('content-length')}, file size {size}"}
    ranges = page_ranges(endpoint, container, blob)
    written = 0
    for a, b in ranges:
        c = Comparer(f, a)
        st, _, body = request(endpoint, "GET", f"/{container}/{blob}", headers={"x-ms-range": f"bytes={a}-{b}"}, out=c)
        if st not in (200, 206) or c.pos != b + 1 or c.first_difference is not None:
            return {"equal": False, "why": f"range {a}-{b}: HTTP {st}, first difference at {c.first_difference}"}
        written += b + 1 - a
    # outside the ranges the file must read as zeros: only its data extents can hold any
    pos, i = 0, 0
    while pos < size:
        try:
            d = os.lseek(f, pos, os.SEEK_DATA)
        except OSError:
            break
        e = os.lseek(f, d, os.SEEK_HOLE)
        while d < e:
            while i < len(ranges) and ranges[i][1] < d:
                i += 1
            if i < len(ranges) and ranges[i][0] <= d:
                d = ranges[i][1] + 1
                continue
            stop = min(e, ranges[i][0] if i < len(ranges) else e, d + (4 << 20))
            b = os.pread(f, stop - d, d)
            if b.count(0) != len(b):
                return {"equal": False, "why": f"the file has data at {d + len(b) - len(b.lstrip(bytes(1)))} outside the blob's pages"}
            d = stop
        pos = e
    return {"equal": True, "ranges": len(ranges), "written": written}


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
    elif cmd == "compare":
        print(json.dumps(compare(endpoint, args[0], args[1], args[2])))
    elif cmd == "compare-written":
        print(json.dumps(compare_written(endpoint, args[0], args[1], args[2])))
    elif cmd == "properties":
        st, h, _ = request(endpoint, "HEAD", f"/{args[0]}/{args[1]}")
        h["status"] = st
        print(json.dumps(h))
    elif cmd == "page-ranges":
        print(json.dumps(page_ranges(endpoint, args[0], args[1])))
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
