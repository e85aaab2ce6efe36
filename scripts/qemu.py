#!/usr/bin/env python3
"""Boots Exo in QEMU: interactively (serial on the terminal) or as a test (serial captured,
timeout enforced, expectations checked, the guest's exit status turned into a result).

Exit status protocol (docs/testing.md): the guest writes status + 1 to the isa-debug-exit port,
QEMU exits with 2 * status + 3; this script exits with the guest's status."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def host_has_hardware_virtualisation():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = line.split(':', 1)[1].split()
                    return 'vmx' in flags or 'svm' in flags
    except OSError:
        pass
    return False


def choose_accel(requested):
    if requested == 'auto':
        # /dev/kvm alone is not enough: on hosts without vmx/svm it is a software hypervisor that
        # mis-executes syscall from ring 3 and is slower than TCG.
        return 'kvm' if host_has_hardware_virtualisation() and os.path.exists('/dev/kvm') else 'tcg'
    return requested


def make_cmdline_disk(directory, cmdline):
    """A FAT floppy image holding /exo-cmdline.cfg, which grub.cfg sources."""
    escaped = cmdline.replace('\\', '\\\\').replace('"', '\\"').replace('$', '\\$')
    cfg = os.path.join(directory, 'exo-cmdline.cfg')
    with open(cfg, 'w') as f:
        f.write(f'set exo_cmdline="{escaped}"\n')
    image = os.path.join(directory, 'cmdline.img')
    subprocess.run(['mformat', '-C', '-f', '1440', '-i', image, '::'], check=True,
                   capture_output=True)
    subprocess.run(['mcopy', '-i', image, cfg, '::/exo-cmdline.cfg'], check=True,
                   capture_output=True)
    return image


def qemu_command(args, cmdline_disk, interactive):
    accel = choose_accel(args.accel)
    cmd = ['qemu-system-x86_64', '-machine', 'q35', '-m', args.memory, '-no-reboot',
           '-display', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
           '-cdrom', args.iso, '-boot', 'd',
           '-drive', f'file={cmdline_disk},format=raw,if=ide,index=1,media=disk']
    if accel == 'kvm':
        cmd += ['-accel', 'kvm', '-cpu', 'host']
    else:
        cmd += ['-accel', 'tcg', '-cpu', 'max']
    if args.icount:
        # The guest TSC then advances one tick per executed instruction: path length, exactly.
        cmd += ['-icount', 'shift=0']
    if args.gdb:
        cmd += ['-s', '-S']
    cmd += ['-serial', 'mon:stdio' if interactive else 'stdio']
    if not interactive:
        cmd += ['-monitor', 'none']
    return cmd + args.qemu_args


def guest_status(returncode):
    if returncode >= 3 and returncode % 2 == 1:
        return (returncode - 3) // 2
    return None


def run_interactive(args, cmd):
    if args.gdb:
        print('QEMU waits for gdb on :1234. In another terminal:\n'
              f'  gdb {os.path.join(os.path.dirname(args.iso), "kernel", "exo-kernel")} '
              "-ex 'target remote :1234'", file=sys.stderr)
    print('Exo: serial console follows; Ctrl-A X quits QEMU.', file=sys.stderr)
    result = subprocess.run(cmd)
    status = guest_status(result.returncode)
    if status is not None:
        return status
    return 0 if result.returncode == 0 else 1


def run_test(args, cmd):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = bytearray()
    first_seen = {}
    done = threading.Event()

    def reader():
        while True:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                break
            output.extend(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            text = output.decode('utf-8', 'replace')
            for pattern in args.expect:
                if pattern not in first_seen and re.search(pattern, text, re.M):
                    first_seen[pattern] = time.monotonic() - start
        done.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if args.input is not None:
        # Typed input for the guest's serial port, sent once the guest asks for it.
        while not done.is_set() and time.monotonic() - start < args.timeout:
            if args.input_after and re.search(args.input_after, output.decode('utf-8', 'replace')):
                break
            time.sleep(0.05)
        try:
            proc.stdin.write(args.input.encode().decode('unicode_escape').encode('latin-1'))
            proc.stdin.flush()
        except BrokenPipeError:
            pass
    try:
        proc.wait(timeout=max(1, args.timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        thread.join(2)
        print(f'\nqemu.py: FAIL: timed out after {args.timeout} s', flush=True)
        return 1
    thread.join(5)
    text = output.decode('utf-8', 'replace')
    failures = []
    status = guest_status(proc.returncode)
    if status is None:
        failures.append(f'QEMU exited with {proc.returncode} without isa-debug-exit '
                        '(a triple fault resets the machine, which -no-reboot turns into an exit)')
    elif status != args.expect_status:
        failures.append(f'guest exit status {status}, expected {args.expect_status}')
    for pattern in args.expect:
        if not re.search(pattern, text, re.M):
            failures.append(f'expected output not seen: /{pattern}/')
    for pattern in args.reject:
        if re.search(pattern, text, re.M):
            failures.append(f'forbidden output seen: /{pattern}/')
    if args.report_time:
        for pattern, seconds in first_seen.items():
            print(f'qemu.py: /{pattern}/ after {seconds * 1000:.0f} ms of wall-clock time')
    for failure in failures:
        print(f'qemu.py: FAIL: {failure}', flush=True)
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--iso', default=os.path.join(ROOT, 'build', 'exo.iso'))
    parser.add_argument('--cmdline', default='', help='kernel command line')
    parser.add_argument('--accel', choices=['auto', 'tcg', 'kvm'], default='auto')
    parser.add_argument('--icount', action='store_true', help='add -icount shift=0')
    parser.add_argument('--gdb', action='store_true', help='wait for gdb on :1234')
    parser.add_argument('--memory', default='512M')
    parser.add_argument('--test', action='store_true', help='capture serial and check results')
    parser.add_argument('--timeout', type=float, default=120)
    parser.add_argument('--expect', action='append', default=[], help='regex that must appear')
    parser.add_argument('--reject', action='append', default=[], help='regex that must not')
    parser.add_argument('--expect-status', type=int, default=0)
    parser.add_argument('--input', help='text to type on the serial port (escapes allowed)')
    parser.add_argument('--input-after', help='regex to wait for before typing --input')
    parser.add_argument('--report-time', action='store_true',
                        help='print the wall-clock time at which each --expect first matched')
    parser.add_argument('qemu_args', nargs=argparse.REMAINDER,
                        help='after --: extra QEMU arguments')
    args = parser.parse_args()
    if args.qemu_args and args.qemu_args[0] == '--':
        args.qemu_args = args.qemu_args[1:]
    if not os.path.exists(args.iso):
        sys.exit(f'qemu.py: no image at {args.iso}; build first (scripts/run builds it)')
    if shutil.which('qemu-system-x86_64') is None:
        sys.exit('qemu.py: qemu-system-x86_64 not found; scripts/setup installs it')
    with tempfile.TemporaryDirectory(prefix='exo-qemu-') as tmp:
        disk = make_cmdline_disk(tmp, args.cmdline)
        cmd = qemu_command(args, disk, interactive=not args.test)
        if args.test:
            print('qemu.py: ' + ' '.join(cmd), flush=True)
            return run_test(args, cmd)
        return run_interactive(args, cmd)


if __name__ == '__main__':
    sys.exit(main())
