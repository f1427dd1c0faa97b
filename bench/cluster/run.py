#!/usr/bin/env python3
"""Side-by-side cluster benchmark: chorus vs Debian's serf, interleaved A/B.

For each cluster size N and repetition it starts N agents of each binary on
loopback (chorus on 127.68.1.x, serf on 127.68.2.x; each agent its own
address, default ports 7946/7373), all agents joining the first at once, and
measures:
  converge   join RPCs sent -> every agent knows N members (RPC `stats`)
  idle       per-agent RSS (median, max) and CPU seconds per minute after
             convergence (/proc/PID/status, /proc/PID/stat); first repetition
  event      user event sent -> every agent's handler has logged it
  query      query sent -> all N responses (from handler scripts) received
  leave      leave RPC -> every other agent's handler logged member-leave
  fail       kill -9 -> every other agent's handler logged member-failed
and, in network namespaces `chbench-*` with an iptables statistic-match DROP
rule on UDP, the false failures of N=20 agents under 10 % loss (both
implementations at once, each in its own namespace).
Every figure is printed with the ratio chorus/serf (< 1: chorus lower).

  python3 bench/cluster/run.py --quick            # N=5,20, 2 reps, ~6 min
  python3 bench/cluster/run.py                    # N=5,20,50,100, 3 reps
  python3 bench/cluster/run.py --chorus PATH --serf PATH --json out.json

Needs root for the loss test (ip netns, iptables); --no-loss skips it.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as cl  # noqa: E402
import rpc  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SUBNETS = {"chorus": "127.68.1", "serf": "127.68.2"}
LOSS_SUBNETS = {"chorus": "127.68.3", "serf": "127.68.4"}


def log(*a):
    print(*a, flush=True)


def load():
    return "load %.2f %.2f %.2f" % os.getloadavg()


def fmt(v, unit=""):
    if v is None:
        return "timeout"
    if isinstance(v, float):
        return ("%.3f" % v if abs(v) < 10 else "%.1f" % v) + unit
    return str(v) + unit


# -- one cluster run ---------------------------------------------------------
def run_cluster(impl, binary, n, rep, args, workdir, measure_idle):
    res = {"impl": impl, "n": n, "rep": rep, "load_before": os.getloadavg()}
    c = cl.Cluster(impl, binary, n, SUBNETS[impl], workdir)
    try:
        c.start()
        c.connect_all()
        t0 = time.monotonic()
        c.join_all()
        t_last = c.wait_members(n, timeout=args.converge_timeout)
        res["converge_s"] = t_last - t0 if t_last else None
        counts = c.alive_counts()
        res["all_alive"] = all(x == n for x in counts)

        if measure_idle:
            time.sleep(2)
            pids = [a.pid for a in c.agents]
            cpu0 = {p: cl.cpu_seconds(p) for p in pids}
            w0 = time.monotonic()
            time.sleep(args.idle)
            wall = time.monotonic() - w0
            cpu1 = {p: cl.cpu_seconds(p) for p in pids}
            rss = sorted(cl.rss_kib(p) / 1024 for p in pids)
            cpu = sorted((cpu1[p] - cpu0[p]) * 60 / wall for p in pids)
            res["rss_mib"] = rss
            res["pss_mib"] = sorted(cl.pss_kib(p) / 1024 for p in pids)
            res["cpu_s_per_min"] = cpu
            probe = c.agents[1].pid
            res["status"] = cl.status_fields(probe)
            res["rss_by_mapping_kib"] = cl.rss_by_mapping(probe)

        first = c.agents[0]
        # User event from agent 0 to every handler (its own included).
        name = "ev%d" % rep
        t0w = time.time()
        first.client.call("event", {"Coalesce": False, "Name": name, "Payload": b"x"})
        t = c.wait_handlers(c.live(), "user", name, args.event_timeout)
        res["event_s"] = t - t0w if t else None

        # Query from agent 0; every handler answers.
        q = rpc.Client(first.rpc_addr)
        t0m = time.monotonic()
        got = q.query("q%d" % rep, b"", timeout_s=args.query_timeout, want=n)
        q.close()
        res["query_responses"] = len(got)
        res["query_s"] = got[-1][0] - t0m if len(got) == n else None

        # Graceful leave of agent N-2.
        leaver = c.agents[n - 2]
        observers = [a for a in c.live() if a is not leaver]
        t0w = time.time()
        try:
            leaver.client.call("leave")
        except (rpc.RpcError, OSError):
            pass  # the agent may close the connection as it shuts down
        t = c.wait_handlers(observers, "member-leave", leaver.name, args.fail_timeout)
        res["leave_s"] = t - t0w if t else None
        try:
            leaver.proc.wait(timeout=15)
        except Exception:  # noqa: BLE001
            pass
        c.kill(leaver) if leaver.proc.poll() is None else None
        leaver.gone = True

        # Failure detection: kill -9 agent N-1.
        victim = c.agents[n - 1]
        observers = [a for a in c.live() if a is not victim]
        t0w = time.time()
        c.kill(victim)
        t = c.wait_handlers(observers, "member-failed", victim.name, args.fail_timeout)
        res["fail_s"] = t - t0w if t else None
    finally:
        c.stop()
    res["load_after"] = os.getloadavg()
    return res


# -- loss test ---------------------------------------------------------------
def iptables(ns, *rule):
    subprocess.run(["ip", "netns", "exec", ns, "iptables"] + list(rule), check=True)


def udp_counters(ns):
    out = subprocess.run(["ip", "netns", "exec", ns, "iptables", "-L", "INPUT", "-v", "-n", "-x"],
                         capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in out.splitlines()[2:] if ln.strip()]
    total = int(rows[0][0]) if rows else 0
    dropped = int(rows[1][0]) if len(rows) > 1 else 0
    return total, dropped


def cli_ok(ns, binary, rpc_addr):
    r = subprocess.run(["ip", "netns", "exec", ns, binary, "members", "-rpc-addr=" + rpc_addr],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stdout


def run_loss(impls, args, workdir):
    n = args.loss_n
    tag = "%d" % os.getpid()
    clusters = {}
    out = {}
    try:
        for impl, binary in impls.items():
            ns = "chbench-%s-%s" % (impl[:1], tag)
            cl.make_netns(ns)
            c = cl.Cluster(impl, binary, n, LOSS_SUBNETS[impl], os.path.join(workdir, "loss-" + impl), netns=ns)
            clusters[impl] = (ns, c)
            c.start_agent(c.agents[0])
        for impl, (ns, c) in clusters.items():
            for _ in range(200):
                if cli_ok(ns, impls[impl], c.agents[0].rpc_addr)[0]:
                    break
                time.sleep(0.05)
            for a in c.agents[1:]:
                c.start_agent(a, join=c.agents[0].gossip)
        # Converged when each handler has logged a join of every other member.
        deadline = time.monotonic() + args.converge_timeout
        for impl, (ns, c) in clusters.items():
            while True:
                done = all(len({x for _, ev, x in c.read_events(a) if ev == "member-join"} - {a.name}) >= n - 1
                           for a in c.agents)
                if done:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("%s did not converge in its namespace" % impl)
                time.sleep(0.2)
        time.sleep(5)
        for impl, (ns, c) in clusters.items():
            proto = ["-p", "udp"] if args.loss_proto == "udp" else []
            iptables(ns, "-A", "INPUT", *proto)  # counts every packet the DROP rule sees
            iptables(ns, "-A", "INPUT", *proto, "-m", "statistic", "--mode", "random",
                     "--probability", str(args.loss), "-j", "DROP")
        t_start = time.time()
        log("  loss %.0f%% on %s for %ds, N=%d, both at once (%s)" % (
            args.loss * 100, args.loss_proto.upper(), args.loss_seconds, n, load()))
        time.sleep(args.loss_seconds)
        t_end = time.time()
        for impl, (ns, c) in clusters.items():
            total, dropped = udp_counters(ns)
            iptables(ns, "-F", "INPUT")
            fails = c.count_events("member-failed", t_start, t_end + args.loss_grace)
            joins = c.count_events("member-join", t_start, t_end + args.loss_grace)
            out[impl] = {
                "n": n, "seconds": args.loss_seconds, "udp_packets": total, "udp_dropped": dropped,
                "drop_rate": dropped / total if total else None,
                "false_failure_events": len(fails),
                "members_declared_failed": sorted({x for _, _, x in fails}),
                "rejoin_events": len(joins),
            }
        time.sleep(args.loss_grace)
        for impl, (ns, c) in clusters.items():
            ok, text = cli_ok(ns, impls[impl], c.agents[0].rpc_addr)
            out[impl]["alive_after"] = sum(1 for ln in text.splitlines() if " alive" in ln)
            fails = c.count_events("member-failed", t_start, time.time())
            out[impl]["false_failure_events_incl_grace"] = len(fails)
    finally:
        for impl, (ns, c) in clusters.items():
            c.stop()
            cl.delete_netns(ns)
    return out


# -- report ------------------------------------------------------------------
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def worst(rs, key):
    """The slowest repetition; None (printed "timeout") if any timed out."""
    xs = [r.get(key) for r in rs]
    if not xs or any(x is None for x in xs):
        return None
    return max(xs)


def summarize(results, sizes):
    rows = []

    def add(metric, n, fc, unit):
        vals = {}
        for impl in ("chorus", "serf"):
            rs = [r for r in results if r["impl"] == impl and r["n"] == n]
            vals[impl] = fc(rs)
        rows.append((metric, n, vals["chorus"], vals["serf"], ratio(vals["chorus"], vals["serf"]), unit))

    for n in sizes:
        add("converge median", n, lambda rs: med([r.get("converge_s") for r in rs]), "s")
        add("converge worst", n, lambda rs: worst(rs, "converge_s"), "s")
        add("RSS median", n, lambda rs: med(sum([r.get("rss_mib", []) for r in rs], [])), "MiB")
        add("RSS max", n, lambda rs: max(sum([r.get("rss_mib", []) for r in rs], []) or [0]) or None, "MiB")
        add("PSS median", n, lambda rs: med(sum([r.get("pss_mib", []) for r in rs], [])), "MiB")
        add("idle CPU median", n, lambda rs: med(sum([r.get("cpu_s_per_min", []) for r in rs], [])), "s/min")
        # The mean over all agents: finer than one agent's 10 ms clock ticks.
        add("idle CPU mean", n, lambda rs: med([statistics.mean(r["cpu_s_per_min"]) for r in rs
                                                 if r.get("cpu_s_per_min")]), "s/min")
        add("event to all handlers", n, lambda rs: med([r.get("event_s") for r in rs]), "s")
        add("query all responses", n, lambda rs: med([r.get("query_s") for r in rs]), "s")
        add("leave seen by all", n, lambda rs: med([r.get("leave_s") for r in rs]), "s")
        add("leave worst", n, lambda rs: worst(rs, "leave_s"), "s")
        add("failure seen by all", n, lambda rs: med([r.get("fail_s") for r in rs]), "s")
        add("failure worst", n, lambda rs: worst(rs, "fail_s"), "s")
    return rows


TAIL_LIMIT = 3.0  # issue 7: chorus's worst case over repeated runs within 3x its median
# A worst case less than this above the median is not a tail: the harness
# polls every 50 ms and scheduling on a loaded 2-core machine moves single
# runs by some 100 ms, which is 3x a 0.06 s median. The tails issue 7 is
# about are whole push/pull intervals (30-90 s).
TAIL_FLOOR_S = 0.5


def tails(results, sizes):
    """Worst / median over the repetitions of each timed figure, per N and
    implementation (a timeout counts as an infinite worst case)."""
    out = []
    for key, name in (("converge_s", "converge"), ("event_s", "event"), ("query_s", "query"),
                      ("leave_s", "leave"), ("fail_s", "failure")):
        for n in sizes:
            row = {"figure": name, "n": n}
            for impl in ("chorus", "serf"):
                xs = [r.get(key) for r in results if r["impl"] == impl and r["n"] == n]
                m = med(xs)
                if not xs or not m:
                    row[impl] = None
                elif any(x is None for x in xs):
                    row[impl] = float("inf")
                else:
                    row[impl] = max(xs) / m
                    row[impl + "_excess_s"] = max(xs) - m
            out.append(row)
    return out


def print_tails(rows, reps):
    """The long-tail criterion: one line per figure, worst/median per N."""
    sizes = sorted({r["n"] for r in rows})
    log("\nlong tails: worst / median over the repetitions (goal: chorus <= %.0f, or worst within %.1f s"
        " of the median)" % (TAIL_LIMIT, TAIL_FLOOR_S))
    log("%-10s %s" % ("figure", " ".join("%15s" % ("N=%d chorus/serf" % n) for n in sizes)))
    bad = []
    for name in dict.fromkeys(r["figure"] for r in rows):
        cells = []
        for n in sizes:
            r = next(x for x in rows if x["figure"] == name and x["n"] == n)
            cells.append("%15s" % ("%s / %s" % tuple("-" if v is None else "%.2f" % v for v in (r["chorus"], r["serf"]))))
            if (r["chorus"] is not None and r["chorus"] > TAIL_LIMIT
                    and r.get("chorus_excess_s", float("inf")) > TAIL_FLOOR_S):
                bad.append("%s N=%d" % (name, n))
        log("%-10s %s" % (name, " ".join(cells)))
    verdict = "met" if not bad else "NOT met (" + ", ".join(bad) + ")"
    if reps < 3:
        verdict += "; with %d repetitions worst/median is at most 2: run 3 or more to check it" % reps
    log("long-tail criterion: %s" % verdict)


def print_table(rows):
    log("\n%-24s %4s %12s %12s %8s" % ("metric", "N", "chorus", "serf", "ratio"))
    for metric, n, c, s, r, unit in rows:
        log("%-24s %4d %12s %12s %8s" % (metric, n, fmt(c, " " + unit if c is not None else ""),
                                        fmt(s, " " + unit if s is not None else ""),
                                        "-" if r is None else "%.2f" % r))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chorus", default=os.environ.get("CHORUS_BIN", os.path.join(REPO, "build/src/cli/chorus")))
    ap.add_argument("--serf", default=shutil.which("serf") or "/usr/bin/serf")
    ap.add_argument("--quick", action="store_true", help="N=5,20, 2 repetitions, 20 s idle, 60 s loss")
    ap.add_argument("--sizes", default=None, help="comma list of N (default 5,20,50,100)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per N and binary (default 3)")
    ap.add_argument("--idle", type=float, default=None, help="idle window in seconds (default 60)")
    ap.add_argument("--loss", type=float, default=0.10)
    ap.add_argument("--loss-n", type=int, default=20)
    ap.add_argument("--loss-seconds", type=int, default=None, help="default 120 (quick: 60)")
    ap.add_argument("--loss-proto", choices=("udp", "all"), default="udp",
                    help="drop UDP only (default; TCP fallback probes and push/pull get through) or all packets")
    ap.add_argument("--loss-grace", type=int, default=10, help="seconds after the loss still counted")
    ap.add_argument("--no-loss", action="store_true", help="skip the packet-loss test")
    ap.add_argument("--only-loss", action="store_true", help="run only the packet-loss test")
    ap.add_argument("--converge-timeout", type=float, default=150)
    ap.add_argument("--fail-timeout", type=float, default=60)
    ap.add_argument("--event-timeout", type=float, default=30)
    ap.add_argument("--query-timeout", type=float, default=15)
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--keep", action="store_true", help="keep the agents' logs")
    ap.add_argument("--report", metavar="JSON", help="only print the summary of a saved --json run")
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        sizes = sorted({r["n"] for r in saved["results"]})
        print_table(summarize(saved["results"], sizes))
        print_tails(tails(saved["results"], sizes), 1 + max(r["rep"] for r in saved["results"]))
        return
    sizes = [int(x) for x in (args.sizes or ("5,20" if args.quick else "5,20,50,100")).split(",")]
    if args.only_loss:
        sizes = []
    args.reps = args.reps or (2 if args.quick else 3)
    args.idle = args.idle if args.idle is not None else (20 if args.quick else 60)
    args.loss_seconds = args.loss_seconds or (60 if args.quick else 120)
    if max(sizes + [args.loss_n]) > 250:
        sys.exit("N is at most 250 (one /24 of loopback addresses per binary)")
    impls = {"chorus": os.path.abspath(args.chorus), "serf": args.serf}
    for impl, path in impls.items():
        if not os.access(path, os.X_OK):
            sys.exit("%s binary not found: %s (use --%s)" % (impl, path, impl))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="chbench-")
    t_begin = time.time()
    versions = {i: subprocess.run([p, "version"], capture_output=True, text=True).stdout.splitlines()[0]
                for i, p in impls.items()}
    log("cluster bench: %s | %s | sizes %s, %d reps, idle %ds | %d CPUs, %s | logs %s" % (
        versions["chorus"], versions["serf"], sizes, args.reps, args.idle, os.cpu_count(), load(), workdir))
    results = []
    loss = None
    try:
        for n in sizes:
            for rep in range(args.reps):
                order = ["chorus", "serf"] if rep % 2 == 0 else ["serf", "chorus"]
                for impl in order:
                    r = run_cluster(impl, impls[impl], n, rep, args, os.path.join(workdir, "%s-n%d-r%d" % (impl, n, rep)),
                                    measure_idle=(rep == 0))
                    results.append(r)
                    extra = ""
                    if "rss_mib" in r:
                        extra = " rss med %.1f MiB max %.1f, cpu med %.3f s/min" % (
                            statistics.median(r["rss_mib"]), max(r["rss_mib"]), statistics.median(r["cpu_s_per_min"]))
                    log("N=%-3d rep %d %-6s converge %s event %s query %s (%d/%d) leave %s fail %s%s | %s" % (
                        n, rep, impl, fmt(r["converge_s"]), fmt(r["event_s"]), fmt(r["query_s"]),
                        r["query_responses"], n, fmt(r["leave_s"]), fmt(r["fail_s"]), extra,
                        "load %.1f" % r["load_after"][0]))
        if not args.no_loss:
            loss = run_loss(impls, args, workdir)
    finally:
        cl.cleanup_all()

    rows = summarize(results, sizes)
    print_table(rows)
    tail_rows = tails(results, sizes)
    print_tails(tail_rows, args.reps)
    for n in sizes:
        for impl in ("chorus", "serf"):
            r = next((r for r in results if r["impl"] == impl and r["n"] == n and "status" in r), None)
            if r:
                top = ", ".join("%s %d" % kv for kv in list(r["rss_by_mapping_kib"].items())[:8])
                log("RSS of one %s agent, N=%d (KiB): %s; by mapping: %s" % (impl, n, r["status"], top))
    if loss:
        for impl in ("chorus", "serf"):
            x = loss[impl]
            log("loss %s: N=%d %ds, %s packets dropped %d/%d (%.1f%%): member-failed events %d (%d incl. %ds after), "
                "members declared failed %s, alive after: %d" % (
                    impl, x["n"], x["seconds"], args.loss_proto.upper(), x["udp_dropped"], x["udp_packets"], 100 * (x["drop_rate"] or 0),
                    x["false_failure_events"], x["false_failure_events_incl_grace"], args.loss_grace,
                    x["members_declared_failed"] or "none", x["alive_after"]))
    log("finished in %.0f s, %s" % (time.time() - t_begin, load()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": versions, "args": vars(args), "results": results, "loss": loss,
                       "summary": [dict(zip(("metric", "n", "chorus", "serf", "ratio", "unit"), r)) for r in rows],
                       "tails": [{k: (None if isinstance(v, float) and v == float("inf") else v) for k, v in r.items()}
                                 for r in tail_rows]},
                      f, indent=1)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
