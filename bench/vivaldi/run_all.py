#!/usr/bin/env python3
"""Runs chorus-vivaldi-bench over a set of schedules and prints a table.

  run_all.py BENCH GENDIR [--algorithms serf,chorus] [-- extra bench args]

GENDIR is created if needed and filled with the generated inputs (see
bench/README.md): seattle99 seeds 2..5 (clean, jitter10) next to the shipped
seed 1, and a clustered 300-node synthetic matrix with seeds 1..2.
"""
import json
import os
import subprocess
import sys

SHARED = os.environ.get("CHORUS_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
D = os.path.join(SHARED, "data/seattle99")


def run(bench, args):
    return json.loads(subprocess.run([bench] + args, check=True, capture_output=True, text=True).stdout)


def inputs(bench, gen):
    os.makedirs(gen, exist_ok=True)
    m = os.path.join(D, "seattle99.rtt")
    out = []
    for kind, sigma in (("clean", 0), ("jitter10", 0.1)):
        out.append(("seattle99", kind, 1, m, os.path.join(D, f"schedules/seattle99.{kind}.r200.s1.sched")))
        for seed in range(2, 6):
            s = os.path.join(gen, f"seattle99.{kind}.r200.s{seed}.sched")
            if not os.path.exists(s):
                subprocess.run([bench, "--matrix", m, "--generate-schedule", s, "--rounds", "200", "--seed",
                                str(seed), "--jitter", str(sigma)], check=True)
            out.append(("seattle99", kind, seed, m, s))
    syn = os.path.join(gen, "clustered300.rtt")
    if not os.path.exists(syn):
        subprocess.run([bench, "--make-matrix", syn, "--shape", "clustered", "--nodes", "300", "--seed", "7"],
                       check=True)
    for kind, sigma in (("clean", 0), ("jitter10", 0.1)):
        for seed in (1, 2):
            s = os.path.join(gen, f"clustered300.{kind}.r200.s{seed}.sched")
            if not os.path.exists(s):
                subprocess.run([bench, "--matrix", syn, "--generate-schedule", s, "--rounds", "200", "--seed",
                                str(seed), "--jitter", str(sigma)], check=True)
            out.append(("clustered300", kind, seed, syn, s))
    return out


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    bench, gen = argv[0], argv[1]
    algos = ["serf", "chorus"]
    if "--algorithms" in argv:
        algos = argv[argv.index("--algorithms") + 1].split(",")
    rows = {}
    for matrix, kind, seed, m, s in inputs(bench, gen):
        for a in algos:
            r = run(bench, ["--matrix", m, "--schedule", s, "--algorithm", a, "--timing-repeats", "0"] + extra)
            rows[(matrix, kind, seed, a)] = ({c["rounds"]: c for c in r["checkpoints"]}, r)
    print("| matrix | schedule | seed | algorithm | r10 median | r50 median | r200 median | r50 p99 | r200 p99 |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    summary = {}
    for (matrix, kind, seed, a), (c, r) in rows.items():
        print(f"| {matrix} | {kind} | {seed} | {a} | {c[10]['median_rel_err']:.4f} | {c[50]['median_rel_err']:.4f} | "
              f"{c[200]['median_rel_err']:.4f} | {c[50]['p99_rel_err']:.3f} | {c[200]['p99_rel_err']:.3f} |")
        for k in (10, 50, 200):
            summary.setdefault((matrix, kind, a, k), []).append((c[k]["median_rel_err"], c[k]["p99_rel_err"]))
    print()
    print("| matrix | schedule | algorithm | seeds | mean median r10 | r50 | r200 | mean p99 r50 | r200 |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for matrix in ("seattle99", "clustered300"):
        for kind in ("clean", "jitter10"):
            for a in algos:
                v = {k: summary.get((matrix, kind, a, k), []) for k in (10, 50, 200)}
                if not v[10]:
                    continue
                mean = lambda xs, i: sum(x[i] for x in xs) / len(xs)
                print(f"| {matrix} | {kind} | {a} | {len(v[10])} | {mean(v[10],0):.4f} | {mean(v[50],0):.4f} | "
                      f"{mean(v[200],0):.4f} | {mean(v[50],1):.3f} | {mean(v[200],1):.3f} |")


if __name__ == "__main__":
    main()
