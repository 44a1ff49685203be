#!/usr/bin/env python3
"""A file server on 127.0.0.1 that stalls package downloads.

    stalling-http-server.py DIR PORTFILE MARKER [STALL-SECONDS]

Serves DIR on an ephemeral loopback port (written to PORTFILE).  A request
for a .deb or .rpm first creates MARKER (so a test knows the build is
downloading, mid-rootfs stage) and then waits STALL-SECONDS (default 60)
before answering.  Tests use it to interrupt a build at a known moment.
Stops by itself after 300 s."""
import functools
import http.server
import os
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    stall = 60.0
    marker = ""

    def do_GET(self):
        if self.path.endswith((".deb", ".rpm")):
            with open(self.marker, "a") as f:
                f.write(self.path + "\n")
            time.sleep(self.stall)
        super().do_GET()

    def log_message(self, fmt, *args):
        pass


def main():
    root, portfile, marker = sys.argv[1:4]
    Handler.stall = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    Handler.marker = marker
    handler = functools.partial(Handler, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, portfile)
    threading.Timer(300, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
