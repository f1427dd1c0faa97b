#!/usr/bin/env python3
"""Cross-check chorus-vivaldi-bench's metric code against the reference scorer.

  check_scorer.py BENCH MATRIX SCHEDULE [bench args...]

Runs BENCH with --dump-predictions into a temporary directory, scores the
dumped matrices with score_predictions.py (found next to MATRIX, or in
$SCORER) and checks that every metric of every checkpoint agrees to 1e-9
relative. Prints one line per metric, then "AGREE" or "<n> MISMATCHES".
Exit status 0 = agree, 1 = mismatch, 2 = nothing comparable (no
checkpoint, a metric missing on either side, a program failing).
"""
import json
import os
import subprocess
import sys

# PROTOCOL.md section 3: every field either side must report.
METRICS = ("pairs", "median_rel_err", "p90_rel_err", "p99_rel_err", "mean_rel_err", "median_abs_err_ms",
           "node_median_rel_err_median")


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    bench, matrix, schedule = sys.argv[1:4]
    scorer = os.environ.get("SCORER", os.path.join(os.path.dirname(matrix), "score_predictions.py"))
    try:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([bench, "--matrix", matrix, "--schedule", schedule, "--dump-predictions", d,
                                  "--timing-repeats", "0"] + sys.argv[4:], check=True, capture_output=True, text=True)
            ours = {c["rounds"]: c for c in json.loads(out.stdout)["checkpoints"]}
            ref = json.loads(subprocess.run([sys.executable, scorer, matrix, "--dir", d], check=True,
                                            capture_output=True, text=True).stdout)
    except (subprocess.CalledProcessError, OSError, ValueError, KeyError) as e:
        print(f"cannot compare: {e}", getattr(e, "stderr", "") or "", file=sys.stderr)
        return 2
    theirs = {c["rounds"]: c for c in ref.get("checkpoints", [])}
    if not ours or sorted(ours) != sorted(theirs):
        print("checkpoint sets differ or are empty:", sorted(ours), sorted(theirs))
        return 2
    bad = 0
    for rounds in sorted(theirs):
        o, c = ours[rounds], theirs[rounds]
        for k in METRICS:
            if k not in o or k not in c:
                print(f"r{rounds}: metric {k} missing (bench: {k in o}, scorer: {k in c})")
                return 2
            ok = abs(o[k] - c[k]) <= 1e-9 * max(1.0, abs(c[k]))
            bad += not ok
            print(f"r{rounds:<4} {k:28} bench={o[k]!r:<22} scorer={c[k]!r:<22} {'ok' if ok else 'MISMATCH'}")
    print("AGREE" if bad == 0 else f"{bad} MISMATCHES")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
