#!/usr/bin/env python3
"""Counts executed kernel instructions per function, and per instruction, for one boot.

QEMU runs with -icount shift=0 and one instruction per translation block (-singlestep), and
logs the address of every executed block inside the kernel image (-d exec,nochain -dfilter).
The log streams through a pipe and is counted here, so a run of tens of millions of
instructions needs no disk. Slow (a kbench suite takes a minute or two) but exact: the same
numbers kbench prints under --icount, broken down.

  scripts/icount_profile.py --cmdline kbench=heap_64              # top functions
  scripts/icount_profile.py --cmdline kbench=heap_64 --annotate heap_free --min 1000

--annotate prints the disassembly (llvm-objdump) of every function whose name contains the
given text, each instruction with its execution count. Divide by the benchmark's operation
count (rounds x operations, e.g. 21 x 1000) for instructions per operation.

--user ELF counts ring-3 code instead: every block in the user range (0x400000 up), named from
ELF (e.g. build/tests/user/channel_test). Every process runs at 0x400000, so profile a benchmark
whose client and server are both in that one program (channel_test callbench).

  scripts/icount_profile.py --user build/tests/user/channel_test --cmdline "run=channel_test callbench 50"
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import qemu  # noqa: E402  (the harness: command-line disk)

KERNEL_TEXT = '0xffffffff80000000..0xffffffffffffffff'
USER_TEXT = '0x400000..0x7fffffffffff'
# "Trace 0: 0x... [00000000/0000000000401234/...]": the block's guest address is the second field.
BLOCK = re.compile(r'\[[0-9a-f]+/([0-9a-f]{16})/')


def symbols(elf):
    out = subprocess.run(['llvm-nm', '-n', '-C', elf], capture_output=True, text=True,
                         check=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split(' ', 2)
        if len(parts) == 3 and parts[1] in 'tTwW':
            table.append((int(parts[0], 16), parts[2]))
    return table


def run(args):
    counts = collections.Counter()
    with tempfile.TemporaryDirectory(prefix='exo-prof-') as tmp:
        log = os.path.join(tmp, 'exec.log')
        os.mkfifo(log)
        serial = os.path.join(tmp, 'serial')
        disk = qemu.make_cmdline_disk(tmp, args.cmdline)
        cmd = ['qemu-system-x86_64', '-machine', 'q35', '-m', args.memory, '-no-reboot',
               '-display', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
               '-cdrom', args.iso, '-boot', 'd',
               '-drive', f'file={disk},format=raw,if=ide,index=1,media=disk',
               '-accel', 'tcg', '-cpu', 'max', '-icount', 'shift=0', '-singlestep',
               '-d', 'exec,nochain', '-dfilter', USER_TEXT if args.user else KERNEL_TEXT, '-D', log,
               '-serial', 'file:' + serial, '-monitor', 'none'] + args.qemu_args
        proc = subprocess.Popen(cmd)
        with open(log) as f:
            for line in f:
                m = BLOCK.search(line)
                if m:
                    counts[int(m.group(1), 16)] += 1
        proc.wait()
        with open(serial, errors='replace') as f:
            for line in f.read().splitlines():
                if line.startswith(('bench ', 'start-up:')):
                    print(line)
    return counts


def annotate(elf, counts, pattern, minimum):
    out = subprocess.run(['llvm-objdump', '-d', '--no-show-raw-insn', '-C', elf],
                         capture_output=True, text=True, check=True).stdout
    show = False
    for line in out.splitlines():
        m = re.match(r'^([0-9a-f]+) <(.*)>:', line)
        if m:
            show = pattern in m.group(2)
            if show:
                print('\n' + line)
            continue
        m = re.match(r'^\s*([0-9a-f]+):\s*(.*)', line)
        if show and m:
            n = counts.get(int(m.group(1), 16), 0)
            if n >= minimum:
                print(f'{n:10d}  {m.group(2)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--iso', default=os.path.join(ROOT, 'build', 'exo.iso'))
    parser.add_argument('--elf', default=os.path.join(ROOT, 'build', 'kernel', 'exo-kernel'))
    parser.add_argument('--user', help='count ring-3 code, named from this ELF, instead of the kernel')
    parser.add_argument('--cmdline', default='shutdown', help='kernel command line')
    parser.add_argument('--memory', default='512M')
    parser.add_argument('--top', type=int, default=30, help='functions to list')
    parser.add_argument('--annotate', help='annotate functions whose name contains this')
    parser.add_argument('--min', type=int, default=1, help='hide instructions run fewer times')
    parser.add_argument('qemu_args', nargs=argparse.REMAINDER,
                        help='after --: extra QEMU arguments')
    args = parser.parse_args()
    if args.qemu_args and args.qemu_args[0] == '--':
        args.qemu_args = args.qemu_args[1:]
    counts = run(args)
    elf = args.user or args.elf
    table = symbols(elf)
    starts = [address for address, _ in table]
    per_function = collections.Counter()
    for address, n in counts.items():
        k = bisect.bisect_right(starts, address) - 1
        per_function[table[k][1] if k >= 0 else '?'] += n
    print(f'{sum(per_function.values())} {"user" if args.user else "kernel"} instructions executed')
    for name, n in per_function.most_common(args.top):
        print(f'{n:12d}  {name}')
    if args.annotate:
        annotate(elf, counts, args.annotate, args.min)
    return 0


if __name__ == '__main__':
    sys.exit(main())
