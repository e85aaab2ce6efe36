#!/usr/bin/env python3
"""Summarises a meson testlog.json: tests per suite (with the GoogleTest and ktest cases inside
them), what failed, and the closing "N passed, N failed" line, which counts Meson tests.
Exits non-zero when a test failed or none ran."""
import collections
import json
import re
import sys


def cases(stdout):
    """(passed, failed) cases reported inside one test's output, or None."""
    passed = re.search(r'^\[  PASSED  \] (\d+) tests?', stdout, re.M)
    failed = re.search(r'^\[  FAILED  \] (\d+) tests?', stdout, re.M)
    if passed or failed:
        return (int(passed.group(1)) if passed else 0, int(failed.group(1)) if failed else 0)
    ktest = re.findall(r'^(\d+) passed, (\d+) failed\r?$', stdout, re.M)
    if ktest:
        return tuple(int(x) for x in ktest[-1])
    return None


def main():
    results = []
    with open(sys.argv[1]) as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    per_suite = collections.defaultdict(lambda: [0, 0, 0, 0])
    failed_names = []
    for r in results:
        match = re.match(r'[^:]+:(\S+) / ', r['name'])
        suite = match.group(1) if match else 'other'
        ok = r['result'] in ('OK', 'EXPECTEDFAIL', 'SKIP')
        counts = per_suite[suite]
        counts[0 if ok else 1] += 1
        inner = cases(r.get('stdout') or '')
        if inner:
            counts[2] += inner[0]
            counts[3] += inner[1]
        if not ok:
            failed_names.append(f"{r['name']} ({r['result']})")
    for suite, (ok, bad, case_ok, case_bad) in sorted(per_suite.items()):
        inner = f' (cases inside: {case_ok} passed, {case_bad} failed)' if case_ok + case_bad else ''
        print(f'{suite}: {ok} passed, {bad} failed{inner}')
    for name in failed_names:
        print(f'FAILED: {name}')
    passed = sum(v[0] for v in per_suite.values())
    failed = sum(v[1] for v in per_suite.values())
    print(f'{passed} passed, {failed} failed')
    return 1 if failed or not results else 0


if __name__ == '__main__':
    sys.exit(main())
