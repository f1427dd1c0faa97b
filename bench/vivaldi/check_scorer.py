#!/usr/bin/env python3
"""Cross-check chorus-vivaldi-bench's metric code against the reference scorer.

  check_scorer.py BENCH MATRIX SCHEDULE [bench args...]

Runs BENCH with --dump-predictions into a temporary directory, scores the
dumped matrices with score_predictions.py (found next to MATRIX, or in
$SCORER) and checks that every metric of every checkpoint agrees to 1e-9
relative. Exit status 0 = agree, 1 = mismatch.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    bench, matrix, schedule = sys.argv[1:4]
    scorer = os.environ.get("SCORER", os.path.join(os.path.dirname(matrix), "score_predictions.py"))
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([bench, "--matrix", matrix, "--schedule", schedule, "--dump-predictions", d,
                              "--timing-repeats", "0"] + sys.argv[4:], check=True, capture_output=True, text=True)
        ours = {c["rounds"]: c for c in json.loads(out.stdout)["checkpoints"]}
        ref = json.loads(subprocess.run([sys.executable, scorer, matrix, "--dir", d], check=True,
                                        capture_output=True, text=True).stdout)
    bad = 0
    if sorted(ours) != sorted(c["rounds"] for c in ref["checkpoints"]):
        print("checkpoint sets differ", sorted(ours), [c["rounds"] for c in ref["checkpoints"]])
        return 1
    for c in ref["checkpoints"]:
        o = ours[c["rounds"]]
        for k, v in c.items():
            if k == "rounds":
                continue
            ok = abs(o[k] - v) <= 1e-9 * max(1.0, abs(v))
            bad += not ok
            print(f"r{c['rounds']:<4} {k:28} bench={o[k]!r:<22} scorer={v!r:<22} {'ok' if ok else 'MISMATCH'}")
    print("AGREE" if bad == 0 else f"{bad} MISMATCHES")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
