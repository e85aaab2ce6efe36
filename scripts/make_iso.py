#!/usr/bin/env python3
"""Builds the bootable Exo ISO: stages the kernel, boot modules and grub.cfg, runs grub-mkrescue."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--kernel', required=True)
    parser.add_argument('--grub-cfg', required=True)
    parser.add_argument('--module', action='append', default=[], metavar='FILE:NAME',
                        help='boot module to load with module2, passed NAME as its command line')
    parser.add_argument('--output', required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix='exo-iso-') as stage:
        os.makedirs(os.path.join(stage, 'boot', 'grub'))
        shutil.copy(args.kernel, os.path.join(stage, 'boot', 'exo-kernel'))
        module_lines = []
        for spec in args.module:
            path, name = spec.rsplit(':', 1)
            shutil.copy(path, os.path.join(stage, 'boot', name))
            module_lines.append(f'module2 /boot/{name} {name}')
        with open(args.grub_cfg) as f:
            cfg = f.read().replace('@MODULES@', '\n  '.join(module_lines))
        with open(os.path.join(stage, 'boot', 'grub', 'grub.cfg'), 'w') as f:
            f.write(cfg)
        result = subprocess.run(['grub-mkrescue', '-o', args.output, stage],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            sys.exit(f'make_iso: grub-mkrescue failed with status {result.returncode}')


if __name__ == '__main__':
    main()
