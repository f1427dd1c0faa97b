#!/usr/bin/env python3
"""Test double for check_scorer.py: the reference scorer's output with one
number changed by 1e-7 relative (p99_rel_err of the last checkpoint).

  perturbed_scorer.py MATRIX --dir DUMPDIR

The real scorer is $REAL_SCORER, or score_predictions.py next to MATRIX. The
CTest case vivaldi_scorer_check_detects_a_mismatch runs check_scorer.py with
SCORER pointing here and passes only if exactly that one mismatch is reported.
"""
import json
import os
import subprocess
import sys

real = os.environ.get("REAL_SCORER", os.path.join(os.path.dirname(sys.argv[1]), "score_predictions.py"))
out = json.loads(subprocess.run([sys.executable, real] + sys.argv[1:], check=True, capture_output=True,
                                text=True).stdout)
out["checkpoints"][-1]["p99_rel_err"] *= 1 + 1e-7
print(json.dumps(out))
