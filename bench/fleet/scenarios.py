"""The fleet scenarios of issue 16, each a function of (fleet, options)
returning a dict of figures. Times are wall-clock seconds; "everywhere"
means every live agent's `stats` (not a sample)."""

import os
import signal
import statistics
import subprocess
import sys
import time

import cluster as cl
import fleet as fl
import rpc


def log(*a):
    print(*a, flush=True)


def med(xs):
    return statistics.median(xs) if xs else None


def live(f):
    return [a for a in f.agents if not a.gone]


def false_failures(f, since, until=None):
    ev = f.events({"member-failed"}, since, until)
    return {"events": len(ev), "members": sorted({x for _, _, _, x in ev})}


def storm(f, o):
    """Waves of o.wave agents, each joining 3 random earlier ones; time from
    the last start until every agent sees N alive."""
    n = f.n
    t0 = time.time()
    for w in range(0, n, o.wave):
        for a in f.agents[w:w + o.wave]:
            f.start(a, join=f.peers_for(a, f.agents[:a.index]))
        t_wave = time.monotonic()
        while time.monotonic() - t_wave < o.wave_gap and w + o.wave < n:
            f.poll()
            time.sleep(0.5)
    t_last = time.time()
    t = f.wait(f.all_see(n), o.timeout)
    stats = f.poll()
    f.wait_events("member-join", [a.name for a in f.agents], t0, 15)
    joins = f.events({"member-join"}, t0)
    sizes = {}
    for obs in f.observers:
        sizes[obs.name] = len({t for t, who, _, _ in joins if who == obs.name})
    return {
        "start_s": t_last - t0, "converged_after_last_start_s": (t - t_last) if t else None,
        "alive_seen_min": min((v[0] for v in stats.values()), default=0),
        "alive_seen_median": med([v[0] for v in stats.values()]),
        "agents_exited": len(f.exits), "exit_reasons": sorted({r for _, r in f.exits.values()})[:5],
        "observer_distinct_sizes": sizes, "t0": t0,
    }


def idle(f, o):
    """Per-agent RSS and CPU, fleet cores, traffic, push/pull rate and false
    failures over o.idle seconds (polled every 10 s, which the agents also
    pay for)."""
    pids = f.pids()
    t0 = time.time()
    m0 = f.metrics()  # before the window: the scrape's own connections stay out of it
    cpu0 = {k: cl.cpu_seconds(p) for k, p in pids.items()}
    net0 = fl.net_counters()
    w0 = time.monotonic()
    worst_failed = 0
    while time.monotonic() - w0 < o.idle:
        worst_failed = max([worst_failed] + [v[1] for v in f.poll().values()])
        time.sleep(min(10, max(0.1, o.idle - (time.monotonic() - w0))))
    wall = time.monotonic() - w0
    net1, m1 = fl.net_counters(), f.metrics()
    cpu, rss, pss = [], [], []
    for k, p in pids.items():
        try:
            cpu.append((cl.cpu_seconds(p) - cpu0[k]) * 60 / wall)
            rss.append(cl.rss_kib(p) / 1024)
            pss.append(cl.pss_kib(p) / 1024)
        except OSError:
            pass  # exited during the window (counted in agents_exited)
    alive = len(cpu) or 1

    def rate(key, src0, src1):
        return (src1.get(key, 0) - src0.get(key, 0)) / alive / wall

    out = {
        "seconds": wall, "agents": len(cpu),
        "rss_mib_median": med(rss), "rss_mib_max": max(rss, default=None), "pss_mib_median": med(pss),
        "cpu_s_per_min_median": med(cpu), "cpu_s_per_min_mean": statistics.mean(cpu) if cpu else None,
        "cpu_s_per_min_max": max(cpu, default=None), "fleet_cores": sum(cpu) / 60,
        "udp_packets_out_per_agent_s": rate("UdpOutDatagrams", net0, net1),
        "lo_bytes_per_agent_s": rate("lo_bytes", net0, net1),
        "tcp_opens_per_agent_min": rate("TcpActiveOpens", net0, net1) * 60,
        "max_failed_seen": worst_failed, "false_failures": false_failures(f, t0),
    }
    if m1:
        out["udp_bytes_out_per_agent_s"] = rate("chorus_udp_bytes_sent_total", m0, m1)
        out["push_pulls_per_agent_min"] = rate('chorus_push_pulls_total{direction="outbound"}', m0, m1) * 60
        out["probe_failures_per_agent_min"] = rate("chorus_probes_failed_total", m0, m1) * 60
        out.update(chorus_counters(m0, m1))
    return out


def chorus_counters(m0, m1):
    """Fleet-wide deltas of the chorus counters that show overload and its
    damping (none for serf)."""
    keys = {"suspicions_raised": "chorus_suspicions_raised_total", "probes_late": "chorus_probes_late_total",
            "udp_read_before_timers": "chorus_udp_read_before_timers_total",
            "self_refutations": "chorus_self_refutations_total"}
    return {k: m1.get(v, 0) - m0.get(v, 0) for k, v in keys.items() if v in m1}


def pick(f, k):
    """k random agents that are not observers (the observers keep watching)."""
    pool = [a for a in live(f) if a.name not in f.observer_names]
    return f.rng.sample(pool, min(k, len(pool)))


def restart(f, agents):
    others = [a for a in live(f) if a not in agents]
    for a in agents:
        f.start(a, join=f.peers_for(a, others or f.agents), retry=True, fresh=False)


def churn(f, o):
    """10 % killed with -9 over o.churn_seconds, then restarted with the same
    names and snapshots."""
    n = f.n
    victims = pick(f, max(1, n // 10))
    base_failed = max((v[1] for v in f.poll().values()), default=0)
    killed = {}
    gap = o.churn_seconds / len(victims)
    for a in victims:
        f.c.kill(a)
        killed[a.name] = time.time()
        time.sleep(gap)
    t_last = max(killed.values())
    k = len(victims)
    t_all = f.wait(lambda s: len(s) >= len(live(f)) and all(v[1] >= base_failed + k for v in s.values()), o.timeout)
    f.wait_events("member-failed", list(killed), min(killed.values()), 15)
    delays = []
    for t, who, _, x in f.events({"member-failed"}, min(killed.values())):
        if x in killed and t >= killed[x]:
            delays.append(t - killed[x])
    t_restart = time.time()
    restart(f, victims)
    t_back = f.wait(f.all_see(n), o.timeout)
    return {
        "killed": k, "kill_spread_s": o.churn_seconds,
        "detected_everywhere_after_last_kill_s": (t_all - t_last) if t_all else None,
        "observer_detection_s_median": med(delays), "observer_detection_s_max": max(delays, default=None),
        "observer_detections": len(delays), "observer_detections_expected": k * len(f.observers),
        "all_alive_again_after_restart_s": (t_back - t_restart) if t_back else None,
    }


def leave(f, o):
    """10 % leave gracefully at once; time until every agent sees them left,
    then they rejoin."""
    n = f.n
    leavers = pick(f, max(1, n // 10))
    k = len(leavers)
    base_left = max((v[2] for v in f.poll().values()), default=0)
    clients = []
    t0 = time.time()
    for a in leavers:
        c = rpc.Client(a.rpc_addr, timeout=30)
        c.send("leave")
        clients.append(c)
    t_seen = f.wait(lambda s: len(s) >= len(live(f)) - k and all(
        v[2] >= base_left + k for name, v in s.items() if name not in {a.name for a in leavers}), o.timeout,
        on_poll=lambda s: None)
    for c in clients:
        c.close()
    stuck = 0
    for obs in f.observers:
        if obs.gone:
            continue
        members = rpc.Client(obs.rpc_addr).call("members")["Members"]
        stuck += sum(1 for m in members if m.get("Status") == "leaving")
    f.stop(leavers)
    t_re = time.time()
    restart(f, leavers)
    t_back = f.wait(f.all_see(n), o.timeout)
    return {"left": k, "seen_everywhere_s": (t_seen - t0) if t_seen else None,
            "stuck_leaving_at_observers": stuck,
            "rejoined_everywhere_s": (t_back - t_re) if t_back else None}


def mass_restart(f, o):
    """All N stopped (SIGTERM, no leave) and started again within
    o.restart_window seconds, in random order, with their snapshots."""
    n = f.n
    t0 = time.time()
    f.poll()
    f.stop(list(f.agents))
    order = list(f.agents)
    f.rng.shuffle(order)
    gap = o.restart_window / n
    last_poll = time.monotonic()
    t_first = time.time()
    for a in order:
        f.start(a, join=f.peers_for(a, f.agents), retry=True, fresh=False)
        if time.monotonic() - last_poll > 0.5:  # the plot's points during the restart
            f.poll()
            last_poll = time.monotonic()
        time.sleep(gap)
    t_last = time.time()
    t = f.wait(f.all_see(n, failed=0, left=0), o.timeout)
    stats = f.poll()
    return {"t0": t0, "start_spread_s": t_last - t_first, "healed_after_last_start_s": (t - t_last) if t else None,
            "agents_with_failed_members": sum(1 for v in stats.values() if v[1]),
            "agents_with_left_members": sum(1 for v in stats.values() if v[2]),
            "alive_seen_min": min((v[0] for v in stats.values()), default=0)}


def rolling(f, o):
    """Agents replaced o.batch at a time (stop, start the --upgrade-binary
    with the same name and snapshot); no member may be seen failed."""
    n = f.n
    t0 = time.time()
    worst_failed = 0
    batches = 0
    order = list(f.agents)
    for i in range(0, n, o.batch):
        batch = order[i:i + o.batch]
        f.stop(batch)
        others = [a for a in live(f)]
        for a in batch:
            f.start(a, join=f.peers_for(a, others), retry=True, fresh=False, binary=o.upgrade_binary)
        t = f.wait(f.all_see(n), o.timeout, on_poll=lambda s: None)
        worst_failed = max([worst_failed] + [v[1] for v in f.poll().values()])
        batches += 1
        if t is None:
            break
    return {"batches": batches, "seconds": time.time() - t0, "max_failed_seen": worst_failed,
            "false_failures": false_failures(f, t0)}


def event_query(f, o):
    """A user event and a query from the first observer: time until every
    observer's handler has the event; query responses (observers answer)."""
    src = f.observers[0]
    c = rpc.Client(src.rpc_addr)
    t0 = time.time()
    c.call("event", {"Coalesce": False, "Name": "fleet-ev", "Payload": b"x"})
    t = f.c.wait_handlers([a for a in f.observers if not a.gone], "user", "fleet-ev", o.timeout)
    t1 = time.monotonic()
    got = c.query("fleet-q", b"", timeout_s=min(30, o.timeout), want=len(f.observers))
    c.close()
    return {"event_all_observers_s": (t - t0) if t else None, "query_responses": len(got),
            "query_responses_expected": len(f.observers),
            "query_all_s": (got[-1][0] - t1) if len(got) == len(f.observers) else None}


def overload(f, o):
    """CPU hogs (o.hogs busy processes) for o.overload_seconds: false
    failures and health scores while overloaded; time to recover after."""
    n = f.n
    hogs = []
    t0 = time.time()
    worst = {"failed": 0, "health": 0, "alive_min": n}

    def watch(s):
        for v in s.values():
            worst["failed"] = max(worst["failed"], v[1])
            worst["health"] = max(worst["health"], v[3])
            worst["alive_min"] = min(worst["alive_min"], v[0])
    m0 = f.metrics()
    try:
        for _ in range(o.hogs):
            p = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            hogs.append(p)
            with cl._lock:
                cl._live[p.pid] = p
        w0 = time.monotonic()
        while time.monotonic() - w0 < o.overload_seconds:
            watch(f.poll())
            time.sleep(2)
    finally:
        for p in hogs:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            with cl._lock:
                cl._live.pop(p.pid, None)
    t_end = time.time()
    t = f.wait(f.all_see(n, failed=0), o.timeout, on_poll=watch)
    return {**chorus_counters(m0, f.metrics()), "hogs": o.hogs, "seconds": t_end - t0, "max_failed_seen": worst["failed"],
            "max_health_score": worst["health"], "min_alive_seen": worst["alive_min"],
            "false_failures": false_failures(f, t0), "recovered_after_s": (t - t_end) if t else None}


ALL = {"storm": storm, "idle": idle, "event": event_query, "churn": churn, "leave": leave,
       "mass-restart": mass_restart, "rolling": rolling, "overload": overload}
