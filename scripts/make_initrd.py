#!/usr/bin/env python3
"""Packs files into a cpio "newc" (070701) archive for the initrd, reproducibly.

Each --file NAME=PATH becomes a regular file NAME (no directories needed: names are flat or
carry their own slashes). Every entry has mtime 0, uid/gid 0 and a sequential inode number, so
the same inputs give the same bytes. Executables (the host file has an x bit) get mode 0755,
the rest 0644. The archive ends with the TRAILER!!! entry and is padded to 512 bytes, as
`cpio -o -H newc` does. Format: cpio(5), "New ASCII Format"."""
import argparse
import os
import sys

MAGIC = b'070701'


def header(ino, mode, size, name_size):
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, name_size, 0]
    return MAGIC + b''.join(b'%08X' % f for f in fields)


def pad4(data):
    return data + b'\0' * (-len(data) % 4)


def entry(ino, mode, name, data):
    encoded = name.encode() + b'\0'
    return pad4(header(ino, mode, len(data), len(encoded)) + encoded) + pad4(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--file', action='append', default=[], metavar='NAME=PATH')
    parser.add_argument('--output', required=True)
    parser.add_argument('--depfile', help='write a Makefile depfile listing the inputs')
    args = parser.parse_args()

    names = set()
    out = bytearray()
    for ino, spec in enumerate(args.file, start=1):
        name, sep, path = spec.partition('=')
        if not sep or not name or not path:
            sys.exit(f'make_initrd: --file wants NAME=PATH, got {spec!r}')
        if name in names:
            sys.exit(f'make_initrd: {name} given twice')
        if name.startswith('/') or '..' in name.split('/'):
            sys.exit(f'make_initrd: {name}: names are relative and stay inside the archive')
        names.add(name)
        with open(path, 'rb') as f:
            data = f.read()
        if len(data) > 0xffffffff:
            sys.exit(f'make_initrd: {path} is too big for newc (4 GiB)')
        mode = 0o100755 if os.access(path, os.X_OK) else 0o100644
        out += entry(ino, mode, name, data)
    out += entry(0, 0, 'TRAILER!!!', b'')
    out += b'\0' * (-len(out) % 512)

    tmp = args.output + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(out)
    os.replace(tmp, args.output)
    if args.depfile:
        with open(args.depfile, 'w') as f:
            paths = ' '.join(spec.partition('=')[2].replace(' ', '\\ ') for spec in args.file)
            f.write(f'{args.output}: {paths}\n')


if __name__ == '__main__':
    main()
