#!/usr/bin/env python3
"""A real fleet on one machine (issue 16): N agents as real processes, each
on its own loopback address (127.70.x.y) inside a network namespace this
harness creates, a few observers running an event handler that logs to a
file, the rest quiet (-log-level=warn, no handler), all with snapshots.
Scenarios, in this order (--scenarios picks; storm always runs first):
  storm         waves of --wave agents every --wave-gap s, each joining 3
                random earlier ones; time until every agent sees N alive
  idle          RSS, CPU s/min per agent, fleet cores, packets/bytes per
                agent per s, TCP opens and push/pulls per agent per min,
                false failures, over --idle s
  event         user event to every observer; query responses
  churn         10 % killed with -9 over --churn-seconds, restarted with
                the same names and snapshots
  leave         10 % leave at once; seen left everywhere; none stuck leaving
  mass-restart  all stopped (SIGTERM) and started again within
                --restart-window s with their snapshots and -retry-join
  rolling       --batch at a time stopped and started as --upgrade-binary
  overload      --hogs busy processes for --overload-seconds: false failures
                while overloaded, recovery time after ("no death spiral")
Every agent's member counts come from its RPC `stats` (not a sample).
Writes fleet-<impl>.json, fleet.md and PNG plots to --out.

  python3 bench/fleet/run.py --nodes 1000
  python3 bench/fleet/run.py --nodes 100 --binary /usr/bin/serf
  python3 bench/fleet/run.py --short              # N=200, a few minutes
  python3 bench/fleet/run.py --nodes 50 --scenarios storm,idle,churn

Needs root (ip netns). Raises RLIMIT_NOFILE (the harness holds an RPC
connection to every agent) and RLIMIT_NPROC to their hard limits and
refuses N above what the fd limit allows (about 4 fds per agent).
Every agent and hog is killed by PID when the run ends (also on Ctrl-C or
SIGTERM); the namespace is deleted, after killing anything left in it.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
import cluster as cl  # noqa: E402
import fleet as fl  # noqa: E402
import report  # noqa: E402
import scenarios as sc  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
ORDER = ["storm", "idle", "event", "churn", "leave", "mass-restart", "rolling", "overload"]


def raise_limits():
    for lim in (resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC):
        soft, hard = resource.getrlimit(lim)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(lim, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", default=None, help="N, or a comma list run one after the other (default 1000)")
    ap.add_argument("--binary", default=os.environ.get("CHORUS_BIN", os.path.join(REPO, "build/src/cli/chorus")),
                    help="agent binary (chorus or serf; serf if its name contains 'serf')")
    ap.add_argument("--upgrade-binary", help="binary of the rolling upgrade (default: --binary)")
    ap.add_argument("--scenarios", default=",".join(ORDER), help="comma list (default all)")
    ap.add_argument("--short", action="store_true",
                    help="N=200 and short phases (idle 60 s, churn 20 s, overload 30 s): a few minutes")
    ap.add_argument("--observers", type=int, default=5)
    ap.add_argument("--wave", type=int, default=100)
    ap.add_argument("--wave-gap", type=float, default=None, help="s between waves (default 5, short 2)")
    ap.add_argument("--idle", type=float, default=None, help="idle window, s (default 600, short 60)")
    ap.add_argument("--churn-seconds", type=float, default=None, help="default 60, short 20")
    ap.add_argument("--restart-window", type=float, default=None, help="default 30, short 15")
    ap.add_argument("--batch", type=int, default=20, help="rolling upgrade batch")
    ap.add_argument("--hogs", type=int, default=2 * (os.cpu_count() or 1), help="busy processes of the overload")
    ap.add_argument("--overload-seconds", type=float, default=None, help="default 120, short 30")
    ap.add_argument("--timeout", type=float, default=None, help="per-scenario wait, s (default 300, short 120)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--keep", action="store_true", help="keep the agents' logs (printed path)")
    ap.add_argument("--report", nargs="+", metavar="JSON", help="only redo fleet.md and plots from saved runs")
    ap.add_argument("--inside", help=argparse.SUPPRESS)  # the namespace we were re-run in
    o = ap.parse_args()
    short = o.short
    o.nodes = [int(x) for x in (o.nodes or ("200" if short else "1000")).split(",")]
    o.wave_gap = o.wave_gap if o.wave_gap is not None else (2 if short else 5)
    o.idle = o.idle if o.idle is not None else (60 if short else 600)
    o.churn_seconds = o.churn_seconds if o.churn_seconds is not None else (20 if short else 60)
    o.restart_window = o.restart_window if o.restart_window is not None else (15 if short else 30)
    o.overload_seconds = o.overload_seconds if o.overload_seconds is not None else (30 if short else 120)
    o.timeout = o.timeout if o.timeout is not None else (120 if short else 300)
    o.binary = os.path.abspath(o.binary) if os.sep in o.binary else (shutil.which(o.binary) or o.binary)
    o.upgrade_binary = o.upgrade_binary or o.binary
    o.scenarios = [s for s in ORDER if s in o.scenarios.split(",") or s == "storm"]
    o.impl = "serf" if "serf" in os.path.basename(o.binary) else "chorus"
    return o


def run_one(o, n, workdir):
    f = fl.Fleet(o.impl, o.binary, n, os.path.join(workdir, "n%d" % n), o.observers, fl.new_rng(o.seed))
    res = {"impl": o.impl, "n": n, "cpus": os.cpu_count(), "load_before": os.getloadavg(),
           "observers": [a.name for a in f.observers], "scenarios": {}, "scenario_end": {}}
    try:
        for name in o.scenarios:
            sc.log("N=%d %s %s ... (load %.1f)" % (n, o.impl, name, os.getloadavg()[0]))
            r = sc.ALL[name](f, o)
            res["scenarios"][name] = r
            res["scenario_end"][name] = time.time()
            sc.log("  " + json.dumps({k: v for k, v in r.items() if k != "t0"}))
    finally:
        cl.cleanup_all()
        res["series"] = f.series
        res["exits"] = f.exits
        res["load_after"] = os.getloadavg()
    return res


def write(runs, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fleet.md"), "w") as f:
        f.write(report.markdown(runs))
    files = report.plots(runs, out)
    sc.log(report.markdown(runs))
    sc.log("wrote %s/fleet.md %s" % (out, " ".join(os.path.basename(x) for x in files)))


def inside(o):
    """Runs the scenarios; we are inside the namespace already."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _: sys.exit(128 + s))
    nofile = raise_limits()
    if max(o.nodes) * 4 + 64 > nofile:
        sys.exit("N=%d needs about %d open files; the limit is %d" % (max(o.nodes), max(o.nodes) * 4 + 64, nofile))
    workdir = tempfile.mkdtemp(prefix="chfleet-")
    sc.log("fleet: %s, N=%s, scenarios %s, %d CPUs, load %.1f %.1f %.1f, fd limit %d, logs %s" % (
        o.binary, o.nodes, ",".join(o.scenarios), os.cpu_count(), *os.getloadavg(), nofile, workdir))
    runs = []
    try:
        for n in o.nodes:
            runs.append(run_one(o, n, workdir))
    finally:
        cl.cleanup_all()
        if runs:
            os.makedirs(o.out, exist_ok=True)
            path = os.path.join(o.out, "fleet-%s.json" % o.impl)
            with open(path, "w") as f:
                json.dump({"args": {k: v for k, v in vars(o).items() if k != "inside"}, "runs": runs}, f)
            write(runs, o.out)
        if not o.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def outside(o):
    """Creates the namespace, re-runs this script inside it, and always
    deletes it, killing whatever the inner run left there (by PID)."""
    if os.geteuid() != 0:
        sys.exit("needs root: it creates a network namespace (ip netns)")
    ns = "chfleet-%d" % os.getpid()
    raise_limits()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    child = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        child = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__)]
                                 + sys.argv[1:] + ["--inside", ns])
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if child and child.poll() is None:
            try:
                child.wait(timeout=30)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                child.kill()
        left = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in left:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def main():
    o = parse()
    if o.report:
        runs = []
        for path in o.report:
            with open(path) as f:
                runs += json.load(f)["runs"]
        write(runs, o.out)
        return 0
    if not os.access(o.binary, os.X_OK):
        sys.exit("binary not found: %s (use --binary)" % o.binary)
    return inside(o) if o.inside else outside(o)


if __name__ == "__main__":
    sys.exit(main())
