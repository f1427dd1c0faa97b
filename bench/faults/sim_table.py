#!/usr/bin/env python3
"""Issue 15's fault scenarios in chorus-sim (bare SWIM cores, virtual time):
one run per scenario and seed, a markdown table of false failures of healthy
nodes, flaps of the faulty node and detection times. Seconds per run.

  python3 bench/faults/sim_table.py --sim build/bench/sim/chorus-sim [--nodes 20] [--seconds 300] [--seeds 1,2,3]
"""
import argparse
import json
import subprocess

SCENARIOS = ["lossy", "deaf", "mute", "flip-flop", "starved", "mass-crash", "partial-partition"]


def run(sim, fault, nodes, seconds, seed, extra):
    cmd = [sim, "--nodes", str(nodes), "--seconds", str(seconds), "--seed", str(seed), "--warm-start",
           "--fault", fault] + extra
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def row(fault, runs):
    ff = sum(r["false_failures"] for r in runs)
    obs = max((len(r["fault"]["false_failures_by_observer"]) for r in runs), default=0)
    at_faulty = sum(r["fault"]["false_failures_at_faulty"] for r in runs)
    flaps = sum(r["fault"]["flaps"] for r in runs)
    flap_max = max(r["fault"]["flaps_max_per_observer"] for r in runs)
    if fault == "mass-crash":
        det = [r["detection"] for r in runs]
        rejoin = max(r["fault"]["rejoin"]["max_s"] for r in runs)
        extra = "rejoin max %.2f s, not rejoined %d" % (rejoin, sum(r["fault"]["not_rejoined"] for r in runs))
    else:
        det = [r["fault"]["faulty_detection"] for r in runs]
        extra = "faulty node failed %d times" % sum(r["fault"]["faulty_failed"] for r in runs)
    counted = [d for d in det if d["count"]]
    med = "%.2f" % (sum(d["median_s"] for d in counted) / len(counted)) if counted else "-"
    mx = "%.2f" % max(d["max_s"] for d in counted) if counted else "-"
    return "| %s | %d | %d | %d | %d (max %d/observer) | %s | %s | %s |" % (fault, ff, obs, at_faulty, flaps, flap_max,
                                                                           med, mx, extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", default="build/bench/sim/chorus-sim")
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("extra", nargs="*", help="more chorus-sim flags (after --)")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    print("N = %d, %d s of fault, seeds %s%s" % (a.nodes, a.seconds - 10, a.seeds,
                                                 (", " + " ".join(a.extra)) if a.extra else ""))
    print()
    print("| scenario | false failures (healthy observers) | observers with one | by the faulty node itself "
          "| flaps of the faulty node | detection median s | detection max s | |")
    print("|---|---|---|---|---|---|---|---|")
    for fault in a.scenarios.split(","):
        runs = [run(a.sim, fault, a.nodes, a.seconds, s, a.extra) for s in seeds]
        print(row(fault, runs), flush=True)


if __name__ == "__main__":
    main()
