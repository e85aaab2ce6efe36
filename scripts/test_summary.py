#!/usr/bin/env python3
"""Summarises a meson testlog.json: tests per suite, what failed, and the closing
"N passed, N failed" line. Exits non-zero when a test failed or none ran."""
import collections
import json
import sys


def main():
    results = []
    with open(sys.argv[1]) as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    per_suite = collections.defaultdict(lambda: [0, 0])
    failed_names = []
    for r in results:
        suite = (r.get('suite') or ['none'])[0].split(':')[-1]
        ok = r['result'] in ('OK', 'EXPECTEDFAIL', 'SKIP')
        per_suite[suite][0 if ok else 1] += 1
        if not ok:
            failed_names.append(f"{suite}/{r['name']} ({r['result']})")
    for suite, (ok, bad) in sorted(per_suite.items()):
        print(f'{suite}: {ok} passed, {bad} failed')
    for name in failed_names:
        print(f'FAILED: {name}')
    passed = sum(v[0] for v in per_suite.values())
    failed = sum(v[1] for v in per_suite.values())
    print(f'{passed} passed, {failed} failed')
    return 1 if failed or not results else 0


if __name__ == '__main__':
    sys.exit(main())
