#!/usr/bin/env python3
"""Appends a VHD footer to a raw disk image, making it a fixed VHD in place.

    vhd-footer.py FILE [fixed|dynamic] [SIZE]

The footer follows Microsoft's "Virtual Hard Disk Image Format
Specification" (cookie, version 1.0, data offset, sizes, disk type, one's
complement checksum); SIZE (default: FILE's size) is the virtual size it
claims.  Written independently of slipway's lib/vhd.c, and in place so that
the file keeps its holes and its allocated zeros as they are (a copy by cp
or qemu-img would turn zero blocks into holes)."""
import os
import struct
import sys
import uuid

path = sys.argv[1]; kind = sys.argv[2] if len(sys.argv) > 2 else "fixed"
size = int(sys.argv[3]) if len(sys.argv) > 3 else os.path.getsize(path)
f = bytearray(512)
f[0:8] = b"conectix"
struct.pack_into(">IIQI", f, 8, 2, 0x00010000, 0xFFFFFFFFFFFFFFFF if kind == "fixed" else 512, 0)
f[28:32] = b"qem2"; struct.pack_into(">I", f, 32, 0x00010000); f[36:40] = b"Wi2k"
struct.pack_into(">QQHBBI", f, 40, size, size, 1024, 16, 63, 2 if kind == "fixed" else 3)
f[68:84] = uuid.uuid4().bytes
struct.pack_into(">I", f, 64, ~sum(f) & 0xFFFFFFFF)
with open(path, "ab") as o:
    o.write(f)
