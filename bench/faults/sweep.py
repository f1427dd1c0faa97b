#!/usr/bin/env python3
"""Detection time vs false failures in chorus-sim, memberlist's suspicion
rule beside chorus's (docs/swim.md, "Hard faults"). For each rule: crash
detection (one crash every 10 s on a quiet network, N = 20 and 50, median
over observers) and false failures of healthy nodes summed over the fault
scenarios (lossy, starved, partial partition, mass crash, and 10 % uniform
loss). Writes JSON and, with matplotlib, a PNG.

  python3 bench/faults/sweep.py --sim build/bench/sim/chorus-sim --json sweep.json --png docs/img/detection-sweep.png
"""
import argparse
import json
import subprocess

FAULTS = ["lossy", "starved", "partial-partition", "mass-crash"]


def sim(path, args):
    out = subprocess.run([path, "--warm-start"] + args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def point(path, rule, seeds, seconds):
    det = {}
    for n in (20, 50):
        meds = [sim(path, rule + ["--nodes", str(n), "--seconds", "300", "--crash-every", "10", "--seed", str(s)])
                ["detection"]["median_s"] for s in seeds]
        det[n] = sum(meds) / len(meds)
    ff = 0
    for s in seeds:
        for f in FAULTS:
            n = 50 if f == "mass-crash" else 20
            ff += sim(path, rule + ["--nodes", str(n), "--seconds", str(seconds), "--fault", f, "--seed", str(s)])[
                "false_failures"]
        ff += sim(path, rule + ["--nodes", "50", "--seconds", str(seconds), "--loss", "0.1", "--seed", str(s)])[
            "false_failures"]
    return {"detect_median_s": det, "false_failures": ff}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", default="build/bench/sim/chorus-sim")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--scales", default="1,0.8,0.6,0.5,0.4,0.3,0.2")
    ap.add_argument("--rules", default="memberlist,chorus")
    ap.add_argument("--json")
    ap.add_argument("--png")
    ap.add_argument("--plot-only", metavar="JSON", help="plot rows written earlier by --json")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    if a.plot_only:
        with open(a.plot_only) as f:
            rows = json.load(f)
        a.rules = ""
    for rule in filter(None, a.rules.split(",")):
        for scale in [float(x) for x in a.scales.split(",")]:
            args = ["--confirmed-min-scale", str(scale)]
            if rule == "memberlist":
                args += ["--corroborate-dead", "off"]
            p = json.loads(json.dumps(point(a.sim, args, seeds, a.seconds)))  # keys as in the JSON file
            p.update(rule=rule, scale=scale)
            rows.append(p)
            print("%-10s scale %.2f  detection median N=20 %.2f s, N=50 %.2f s  false failures %d" % (
                rule, scale, p["detect_median_s"]["20"], p["detect_median_s"]["50"], p["false_failures"]), flush=True)
    if a.json and not a.plot_only:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4))
        for rule, mark in (("memberlist", "o--"), ("chorus", "s-")):
            pts = [r for r in rows if r["rule"] == rule]
            ax.plot([r["detect_median_s"]["20"] for r in pts], [r["false_failures"] for r in pts], mark,
                    label="%s (dead on one word)" % rule if rule == "memberlist" else "chorus (corroborated dead)")
            for r in pts:
                ax.annotate("%.1f" % r["scale"], (r["detect_median_s"]["20"], r["false_failures"]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("crash detection, median over observers, N = 20 (s)")
        ax.set_ylabel("false failures of healthy nodes\n(fault scenarios, %d seeds)" % len(seeds))
        ax.set_title("chorus-sim: confirmed-suspicion floor (labels: x memberlist's min)")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(a.png, dpi=110)


if __name__ == "__main__":
    main()
