#!/usr/bin/env python3
"""An HTTP/1.1 proxy on 127.0.0.1 that misbehaves on purpose, for the upload tests.

    flaky-http-proxy.py PORTFILE close
        accepts every connection, reads the start of the request and closes
        it without an answer (a server that drops the connection mid-request)
    flaky-http-proxy.py PORTFILE forward UPSTREAM_PORT [DROP [BUSY]]
        forwards every request to 127.0.0.1:UPSTREAM_PORT, except that the
        first DROP Put Page requests (?comp=page) are cut off after half
        their body, and the next BUSY ones get 503 ServerBusy

Listens on an ephemeral loopback port (written to PORTFILE).  Logs one line
per request to stdout: "METHOD PATH?QUERY CONTENT-LENGTH ACTION".  Stops by
itself after 300 s."""
import http.client
import socket
import sys
import threading
import time

lock = threading.Lock()
state = {"drop": 0, "busy": 0}


def log(line):
    with lock:
        print(line, flush=True)


def read_request(conn, buf):
    """(request line, headers dict, raw header bytes, rest) or None when the peer closed."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers, lines[1:], rest


def recv_exact(conn, n, rest):
    data = rest
    while len(data) < n:
        chunk = conn.recv(min(1 << 20, n - len(data)))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data[:n], data[n:]


def handle_close(conn):
    try:
        conn.settimeout(10)
        conn.recv(200)
    except OSError:
        pass
    log("? ? ? closed")
    conn.close()


def handle_forward(conn, upstream):
    buf = b""
    try:
        conn.settimeout(60)
        while True:
            req = read_request(conn, buf)
            if req is None:
                return
            line, headers, raw_headers, rest = req
            method, target, _ = line.split(" ", 2)
            length = int(headers.get("content-length", "0"))
            is_page = "comp=page" in target and method == "PUT"
            with lock:
                action = "forward"
                if is_page and state["drop"] > 0:
                    state["drop"] -= 1
                    action = "drop"
                elif is_page and state["busy"] > 0:
                    state["busy"] -= 1
                    action = "busy"
            if action == "drop":
                recv_exact(conn, length // 2, rest)
                log(f"{method} {target} {length} dropped")
                conn.close()
                return
            body, buf = recv_exact(conn, length, rest)
            if action == "busy":
                msg = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
                       b"<Message>The server is busy.</Message></Error>")
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nx-ms-error-code: ServerBusy\r\n"
                             b"Content-Type: application/xml\r\nContent-Length: " + str(len(msg)).encode() +
                             b"\r\n\r\n" + msg)
                log(f"{method} {target} {length} busy")
                continue
            up = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
            fwd = {}
            for ln in raw_headers:
                k, _, v = ln.partition(":")
                if k.strip().lower() not in ("connection", "keep-alive"):
                    fwd[k.strip()] = v.strip()
            up.request(method, target, body=body if method in ("PUT", "POST") else None, headers=fwd)
            r = up.getresponse()
            data = r.read()
            out = [f"HTTP/1.1 {r.status} {r.reason}"]
            for k, v in r.getheaders():
                if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                    out.append(f"{k}: {v}")
            if method == "HEAD":
                out.append(f"Content-Length: {r.getheader('Content-Length', '0')}")
                data = b""
            else:
                out.append(f"Content-Length: {len(data)}")
            conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
            up.close()
            log(f"{method} {target} {length} {r.status}")
    except (OSError, ConnectionError, ValueError):
        pass
    finally:
        conn.close()


def main():
    portfile, mode = sys.argv[1], sys.argv[2]
    upstream = int(sys.argv[3]) if mode == "forward" else 0
    if mode == "forward":
        state["drop"] = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        state["busy"] = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    deadline = time.time() + 300
    s.settimeout(1)
    while time.time() < deadline:
        try:
            conn, _ = s.accept()
        except socket.timeout:
            continue
        target = handle_close if mode == "close" else (lambda c: handle_forward(c, upstream))
        threading.Thread(target=target, args=(conn,), daemon=True).start()


main()
