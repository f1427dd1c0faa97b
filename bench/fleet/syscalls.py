#!/usr/bin/env python3
"""Idle cost of an agent: syscalls per second by kind and CPU per agent
(issue 16).

Starts N agents of one binary on 127.150.x.y (every one but the first joins
the first), waits until each knows all N members and for --settle seconds
more, then for --seconds records one agent's syscalls with `strace -c -f -p`
and every agent's CPU from /proc/PID/stat, and kills them all by PID.

  python3 bench/fleet/syscalls.py --binary build/chorus --n 5
  python3 bench/fleet/syscalls.py --binary /usr/bin/serf --impl serf --n 50 --json out.json

The syscall counts of an idle agent do not depend on the machine's load (its
wake-ups come from its own timers and its peers' probes); its CPU does: say
the load when quoting CPU figures. The traced agent is left out of the CPU
mean (ptrace makes each of its syscalls dearer).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
import cluster as cl  # noqa: E402


def ip_of(i):
    """Agent i's loopback address: 127.150.0.1 .. (no test or bench uses 127.150)."""
    return "127.150.%d.%d" % (i // 250, i % 250 + 1)


def parse_strace_c(text):
    """{syscall: (calls, errors)} from `strace -c` output."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or not re.match(r"^[0-9.]+$", parts[0]) or parts[-1] == "total":
            continue
        name = parts[-1]
        nums = parts[1:-1]
        # % time, seconds, usecs/call, calls[, errors]
        calls = int(nums[2])
        errors = int(nums[3]) if len(nums) > 3 else 0
        out[name] = (calls, errors)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--impl", default="chorus", help="chorus or serf (only names the agents)")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--settle", type=float, default=10.0, help="seconds after full membership")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--traced", type=int, default=1, help="index of the agent to strace")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="syscalls-")
    c = cl.Cluster(args.impl, os.path.abspath(args.binary), args.n, None, workdir, ip_of=ip_of)
    try:
        seed = c.agents[0]
        for a in c.agents:
            join = [] if a is seed else [seed.gossip]
            c.start_agent(a, join=join, handler=False, log_level="warn", args=["-snapshot=" + a.snapshot])
            if a is seed:
                time.sleep(0.3)
        c.connect_all(timeout=30)
        if c.wait_members(args.n, timeout=60) is None:
            raise RuntimeError("the cluster did not converge")
        time.sleep(args.settle)
        traced = c.agents[min(args.traced, args.n - 1)]
        cpu0 = {a.pid: cl.cpu_seconds(a.pid) for a in c.agents}
        t0 = time.monotonic()
        st = subprocess.run(["timeout", "-s", "INT", str(args.seconds), "strace", "-c", "-f", "-p", str(traced.pid)],
                            capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        cpu1 = {a.pid: cl.cpu_seconds(a.pid) for a in c.agents}
        for a in c.agents:
            if a.proc.poll() is not None:
                raise RuntimeError("%s exited; log %s" % (a.name, a.log))
    finally:
        for a in c.agents:
            if a.client:
                a.client.close()
                a.client = None
        c.stop()
    calls = parse_strace_c(st.stderr)
    if not calls:
        sys.exit("no strace output:\n" + st.stderr)
    untraced = [a.pid for a in c.agents if a is not traced]
    per_agent = [(cpu1[p] - cpu0[p]) * 60.0 / elapsed for p in untraced]
    total = sum(v[0] for v in calls.values())
    fig = {
        "impl": args.impl,
        "n": args.n,
        "seconds": round(elapsed, 1),
        "load": os.getloadavg(),
        "syscalls_per_s": {k: round(v[0] / elapsed, 2) for k, v in sorted(calls.items(), key=lambda kv: -kv[1][0])},
        "errors_per_s": {k: round(v[1] / elapsed, 2) for k, v in calls.items() if v[1]},
        "total_per_s": round(total / elapsed, 2),
        "cpu_s_per_min_mean": round(sum(per_agent) / len(per_agent), 4) if per_agent else None,
        "cpu_s_per_min_max": round(max(per_agent), 4) if per_agent else None,
    }
    print("%s N=%d, %.0f s, load %.2f %.2f %.2f" % (args.impl, args.n, elapsed, *fig["load"]))
    print("  syscalls/s of one agent: %.1f total" % fig["total_per_s"])
    for k, v in fig["syscalls_per_s"].items():
        err = fig["errors_per_s"].get(k)
        print("    %-18s %7.2f%s" % (k, v, "  (%.2f errors)" % err if err else ""))
    print("  CPU-s/min per agent (untraced): mean %s, max %s" % (fig["cpu_s_per_min_mean"], fig["cpu_s_per_min_max"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    finally:
        cl.cleanup_all()
