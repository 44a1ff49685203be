#!/usr/bin/env python3
# Writes a profile of N keys (or list entries) in one of the shapes that
# made `validate` quadratic (issue 16 item 14), each within the 1 MiB a
# profile file may have at N = 135000:
#   big-profile.py SHAPE N OUT.yaml
#   unknown-keys  N unknown keys under image: (N errors, "did you mean")
#   install       packages.install with N entries (a flow list)
#   merge-list    an include with N packages, the profile with the same N again
#   remove        an include with N packages, the profile removes all of them
#   merge-map     an include and the profile each with the same N keys of a map
#   dup-keys      N/2 keys, then the same N/2 again (N/2 duplicate-key errors)
# Includes go next to OUT.yaml, as OUT.inc.yaml.
import itertools, os, string, sys

shape, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
chars = string.ascii_lowercase + string.digits


def names():
    for length in itertools.count(1):
        for t in itertools.product(chars, repeat=length):
            if not t[0].isdigit():
                yield "".join(t)


keys = list(itertools.islice(names(), n))
head = "image: {name: big}\ndistribution: {release: trixie}\n"
image_head = "distribution: {release: trixie}\nimage:\n name: big\n"
inc = out[: -len(".yaml")] + ".inc.yaml"
inc_line = "include: [%s]\n" % os.path.basename(inc)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


if shape == "unknown-keys":
    write(out, image_head + "".join(" %s:\n" % k for k in keys))
elif shape == "install":
    write(out, head + "packages:\n install: [" + ",".join(keys) + "]\n")
elif shape == "merge-list":
    write(inc, "packages:\n install: [" + ",".join(keys) + "]\n")
    write(out, inc_line + head + "packages:\n install: [" + ",".join(reversed(keys)) + "]\n")
elif shape == "remove":
    write(inc, "packages:\n install: [" + ",".join(keys) + "]\n")
    write(out, inc_line + head + "packages:\n remove: [" + ",".join(reversed(keys)) + "]\n")
elif shape == "merge-map":
    write(inc, "image:\n" + "".join(" %s:\n" % k for k in keys))
    write(out, inc_line + image_head + "".join(" %s:\n" % k for k in reversed(keys)))
elif shape == "dup-keys":
    half = keys[: n // 2]
    write(out, image_head + "".join(" %s:\n" % k for k in half + half))
else:
    sys.exit("big-profile.py: unknown shape " + shape)
