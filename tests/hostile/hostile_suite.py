#!/usr/bin/env python3
"""The hostile-input suite (issue 14): three encrypted chorus agents with RPC
auth on 127.93.0.1-3; every case in cases.py attacks h1 over UDP, TCP gossip
or RPC, and after each the suite checks that h1 still runs, its RSS stays
under the bound, the counter for that rejection moved, and a user event sent
through h2 reaches the handlers of all three agents. Prints one line per case
(the table in docs/compatibility.md comes from it); exit status 1 if any
case failed. Python 3 stdlib only (plus libsodium through ctypes, for the
AES-GCM envelope). Run by CTest with the label `hostile`:

    ctest --test-dir build -L hostile
    python3 tests/hostile/hostile_suite.py --chorus build/src/cli/chorus [--only TEXT]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cases import CASES  # noqa: E402
from cluster import Cluster  # noqa: E402

# An idle agent holds ~4 MiB; every case's worst legitimate use is a 64 KiB
# datagram or a 1 MiB RPC request at a time.
RSS_BOUND_MIB = 48.0


def run_case(cluster, index, case):
    name, transport, fn, counters = case
    target = cluster.target
    before = target.metrics()
    started = time.monotonic()
    problems = []
    try:
        what = fn(cluster) or ""
    except AssertionError as e:
        what = "FAILED: %s" % e
        problems.append(str(e))
    except Exception as e:  # noqa: BLE001 - a broken case is a failure, with its trace
        what = "ERROR: %r" % e
        problems.append(traceback.format_exc())
    if cluster.serf:
        time.sleep(2)  # Serf decodes on other goroutines: let a late crash or allocation show
    if not target.alive():
        problems.append("h1 exited (code %s)" % target.proc.poll())
        return name, transport, what, problems, 0.0, [], time.monotonic() - started
    rss = target.rss_mib()
    if rss > RSS_BOUND_MIB:
        problems.append("RSS %.1f MiB over the %.0f MiB bound" % (rss, RSS_BOUND_MIB))
    moved = []
    if counters and not cluster.serf:
        def any_moved():
            after = target.metrics()
            moved[:] = [k for k in counters if after.get(k, 0) > before.get(k, 0)]
            return bool(moved)

        from cluster import wait_until
        if not wait_until(any_moved, 5, 0.1):
            problems.append("no counter moved of: " + ", ".join(counters))
    # A second event if the first is lost: after an event flood, an event
    # stamped by an agent whose clock lags more than Serf's 512-event window
    # behind is dropped as old by the others (Serf does the same); once the
    # clocks caught up, events flow again.
    if not cluster.deliver_event("after-case-%d" % index, limit=6):
        what += " (first user event afterwards lost, as old)"
        if not cluster.deliver_event("after-case-%d-again" % index, limit=6):
            problems.append("the cluster did not deliver a user event afterwards")
    return name, transport, what, problems, rss, moved, time.monotonic() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chorus", required=True, help="path to the chorus binary")
    ap.add_argument("--workdir", help="where agent logs go (default: a temporary directory, removed on success)")
    ap.add_argument("--only", help="run only cases whose name contains this text")
    ap.add_argument("--serf", help="run the cases against this serf binary instead (by hand, for the comparison in "
                    "docs/compatibility.md: no counters; a crashed agent is reported and the cluster restarted)")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="chorus-hostile-")
    os.makedirs(workdir, exist_ok=True)
    started = time.monotonic()
    binary = os.path.abspath(args.serf or args.chorus)
    serf = bool(args.serf)
    cluster = None
    failures = 0
    try:
        for i, case in enumerate(CASES):
            if args.only and args.only not in case[0]:
                continue
            # chorus: one cluster takes every case in turn. serf: a fresh
            # cluster per case, so that each crash or bloat is that case's.
            if cluster is None or serf:
                if cluster:
                    cluster.stop()
                d = os.path.join(workdir, "case-%d" % i) if serf else workdir
                os.makedirs(d, exist_ok=True)
                t0 = time.monotonic()
                cluster = Cluster(binary, d, serf)
                if not serf:
                    print("cluster of 3 up in %.1f s" % (time.monotonic() - t0), flush=True)
            name, transport, what, problems, rss, moved, secs = run_case(cluster, i, case)
            status = "FAIL" if problems else "ok"
            print("%-4s %-3s %-42s %5.1f MiB %4.1f s  %s  [%s]" % (status, transport, name, rss, secs, what,
                                                                  ", ".join(moved)), flush=True)
            for p in problems:
                print("       " + p.replace("\n", "\n       "), flush=True)
            failures += bool(problems)
            if not cluster.target.alive() and not serf:
                break
    finally:
        if cluster:
            cluster.stop()
    print("%d failed, wall %.1f s, logs in %s" % (failures, time.monotonic() - started, workdir), flush=True)
    if failures == 0 and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
