#!/usr/bin/env python3
"""Long fuzzing: every libFuzzer target (tests/fuzz/targets.txt) for a given
time each, seeded from ../shared/vectors, with a summary of what happened.

usage: bench/fuzz/run.py [--minutes M | --seconds S] [--build build-fuzz]
                         [--parallel N] [--out DIR] [TARGET ...]

Build the targets first (bash scripts/build.sh fuzz). Each target runs under
`nice -n 19` (--nice to change) with its corpus kept in OUT/corpus/<target> (a later run
continues from it). Written to OUT (default BUILD/fuzz-bench):
  summary.json, summary.md  per target: seconds, executions, execs/s, final
                            coverage (libFuzzer's cov: edges and ft:
                            features), corpus size, peak RSS, findings
  <target>.log              libFuzzer's output
  artifacts/                reproducers of any finding (crash-, leak-,
                            timeout-, oom-)
Exits 1 if any target found something.
"""
import argparse
import concurrent.futures
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def targets():
    with open(os.path.join(REPO, "tests/fuzz/targets.txt")) as f:
        return ["fuzz_" + t.strip() for t in f if t.strip()]


def parse_log(text):
    """Final stats and the last coverage line of a libFuzzer log."""
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
    cov = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", text, re.M)
    out = {
        "executions": int(stats.get("number_of_executed_units", 0)),
        "execs_per_sec": int(stats.get("average_exec_per_sec", 0)),
        "new_units": int(stats.get("new_units_added", 0)),
        "peak_rss_mb": int(stats.get("peak_rss_mb", 0)),
        "slowest_unit_sec": int(stats.get("slowest_unit_time_sec", 0)),
    }
    if cov:
        last = cov[-1]
        out.update(cov=int(last[1]), ft=int(last[2]), corpus_units=int(last[3]), corpus_size=last[4])
    return out


def run_target(target, args, seeds, out):
    binary = os.path.join(args.build, "tests/fuzz", target)
    corpus = os.path.join(out, "corpus", target)
    artifacts = os.path.join(out, "artifacts")
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    seed_dir = os.path.join(seeds, target)
    os.makedirs(seed_dir, exist_ok=True)
    dict_path = os.path.join(seeds, target + ".dict")
    if not os.path.exists(dict_path):
        dict_path = os.path.join(seeds, "gossip.dict")
    cmd = ["nice", "-n", str(args.nice), binary, f"-max_total_time={args.seconds}", "-rss_limit_mb=2048", "-timeout=10",
           "-max_len=65536", "-print_final_stats=1", f"-artifact_prefix={artifacts}/{target}-"]
    if os.path.exists(dict_path):
        cmd.append(f"-dict={dict_path}")
    cmd += [corpus, seed_dir]
    log_path = os.path.join(out, target + ".log")
    before = set(glob.glob(os.path.join(artifacts, target + "-*")))
    start = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[0]
    with open(log_path, "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    elapsed = time.monotonic() - start
    found = sorted(set(glob.glob(os.path.join(artifacts, target + "-*"))) - before)
    with open(log_path, errors="replace") as log:
        result = parse_log(log.read())
    load_after = open("/proc/loadavg").read().split()[0]
    result.update(target=target, seconds=round(elapsed), exit_code=rc, load=f"{load_before}-{load_after}",
                  findings=[os.path.basename(f) for f in found])
    if rc != 0 and not found:
        result["findings"].append(f"exit code {rc} without a reproducer: see {log_path}")
    return result


def markdown(results, args, load):
    lines = [f"Fuzzing: {args.seconds} s per target, `nice -n {args.nice}`, load average at start {load}, "
             f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
             "| target | seconds | executions | execs/s | cov (edges) | ft (features) | corpus | peak RSS MB | load (1 min, start-end) | findings |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        lines.append(f"| {r['target']} | {r['seconds']} | {r['executions']} | {r['execs_per_sec']} | "
                     f"{r.get('cov', '?')} | {r.get('ft', '?')} | {r.get('corpus_units', '?')} | "
                     f"{r['peak_rss_mb']} | {r['load']} | {', '.join(r['findings']) or 'none'} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float)
    g.add_argument("--seconds", type=int)
    p.add_argument("--build", default=os.path.join(REPO, "build-fuzz"))
    p.add_argument("--out")
    p.add_argument("--parallel", type=int, default=1, help="targets run at once (default 1)")
    p.add_argument("--nice", type=int, default=19,
                   help="niceness of the fuzzers (default 19: yield to everything else; 0 for a measured run)")
    p.add_argument("--vectors", default=os.environ.get("CHORUS_SHARED_DIR", os.path.join(REPO, "..", "shared"))
                   + "/vectors")
    p.add_argument("targets", nargs="*")
    args = p.parse_args()
    args.seconds = args.seconds or int((args.minutes or 30) * 60)
    names = args.targets or targets()
    unknown = [t for t in names if t not in targets()]
    if unknown:
        sys.exit(f"unknown targets: {unknown}; known: {targets()}")
    missing = [t for t in names if not os.access(os.path.join(args.build, "tests/fuzz", t), os.X_OK)]
    if missing:
        sys.exit(f"not built: {missing} (bash scripts/build.sh fuzz)")
    out = args.out or os.path.join(args.build, "fuzz-bench")
    seeds = os.path.join(out, "seeds")
    os.makedirs(out, exist_ok=True)
    if os.path.isdir(args.vectors):
        subprocess.run([sys.executable, os.path.join(REPO, "tests/fuzz/make_corpus.py"), args.vectors, seeds],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        print(f"warning: no vectors at {args.vectors}: fuzzing without seeds", file=sys.stderr)
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"{len(names)} targets x {args.seconds} s, {args.parallel} at a time -> {out}", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
        futures = [pool.submit(run_target, t, args, seeds, out) for t in names]
        results = []
        for f in futures:
            r = f.result()
            results.append(r)
            print(f"{r['target']}: {r['execs_per_sec']} execs/s, cov {r.get('cov')}, ft {r.get('ft')}, "
                  f"findings: {r['findings'] or 'none'}", flush=True)
    summary = {"seconds_per_target": args.seconds, "load_average_at_start": load, "results": results}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(markdown(results, args, load))
    print(f"summary: {out}/summary.md")
    sys.exit(1 if any(r["findings"] for r in results) else 0)


if __name__ == "__main__":
    main()
