"""Markdown table and PNG plots of fleet runs (bench/fleet/run.py).
`python3 report.py OUTDIR JSON...` draws the plots of saved runs."""

import json
import os
import subprocess
import sys

DEBIAN_PYTHON = "/usr/bin/python3"


def fmt(v):
    if v is None:
        return "timeout"
    if isinstance(v, float):
        return "%.3f" % v if abs(v) < 10 else "%.1f" % v
    if isinstance(v, dict):
        return str(v.get("events", v))
    return str(v)


ROWS = [
    ("storm", "converged_after_last_start_s", "join storm: all agents see N, s after last start"),
    ("storm", "agents_exited", "join storm: agents exited"),
    ("storm", "alive_seen_min", "join storm: fewest alive seen by an agent"),
    ("idle", "rss_mib_median", "idle RSS median, MiB"),
    ("idle", "rss_mib_max", "idle RSS max, MiB"),
    ("idle", "cpu_s_per_min_mean", "idle CPU per agent, s/min (mean)"),
    ("idle", "cpu_s_per_min_max", "idle CPU per agent, s/min (max)"),
    ("idle", "fleet_cores", "idle fleet CPU, cores"),
    ("idle", "udp_packets_out_per_agent_s", "UDP packets out per agent per s"),
    ("idle", "lo_bytes_per_agent_s", "bytes on lo per agent per s (incl. TCP, RPC polls)"),
    ("idle", "tcp_opens_per_agent_min", "TCP connections opened per agent per min"),
    ("idle", "push_pulls_per_agent_min", "push/pulls per agent per min (chorus metric)"),
    ("idle", "false_failures", "idle: member-failed events at observers"),
    ("event", "event_all_observers_s", "user event at every observer, s"),
    ("event", "query_responses", "query responses"),
    ("event", "query_all_s", "query: all responses, s"),
    ("churn", "detected_everywhere_after_last_kill_s", "churn: crashes seen everywhere, s after last kill"),
    ("churn", "observer_detection_s_max", "churn: worst detection at an observer, s"),
    ("churn", "all_alive_again_after_restart_s", "churn: all alive everywhere after restart, s"),
    ("leave", "seen_everywhere_s", "leave of 10 %: seen left everywhere, s"),
    ("leave", "stuck_leaving_at_observers", "leave: members stuck leaving (observers)"),
    ("mass-restart", "healed_after_last_start_s", "mass restart: healed, s after last start"),
    ("mass-restart", "agents_with_failed_members", "mass restart: agents still seeing failed"),
    ("rolling", "max_failed_seen", "rolling upgrade: most failed members seen"),
    ("rolling", "false_failures", "rolling upgrade: member-failed events at observers"),
    ("overload", "max_failed_seen", "overload: most failed members seen by an agent"),
    ("overload", "false_failures", "overload: member-failed events at observers"),
    ("overload", "max_health_score", "overload: highest health (awareness) score"),
    ("overload", "suspicions_raised", "overload: suspicions raised (chorus, fleet total)"),
    ("overload", "probes_late", "overload: failed probes excused as late (chorus)"),
    ("overload", "recovered_after_s", "overload: all alive, none failed, s after load drops"),
]


def markdown(runs):
    head = "| figure | " + " | ".join("%s N=%d" % (r["impl"], r["n"]) for r in runs) + " |"
    lines = ["Machine load (1-min average) before each run: " + ", ".join(
        "%s N=%d: %.1f" % (r["impl"], r["n"], r["load_before"][0]) for r in runs) + ".", "", head,
        "|" + "---|" * (len(runs) + 1)]
    for scen, key, label in ROWS:
        if not any(key in r["scenarios"].get(scen, {}) for r in runs):
            continue
        lines.append("| %s | %s |" % (label, " | ".join(
            fmt(r["scenarios"][scen][key]) if key in r["scenarios"].get(scen, {}) else "-" for r in runs)))
    return "\n".join(lines) + "\n"


def plots(runs, outdir):
    """members seen vs time per observer (storm, mass restart) per run; CPU
    and memory vs N when there are several sizes. Returns the files."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return plots_with_debian_python(runs, outdir)
    files = []
    for r in runs:
        load = "load %.1f on %d CPUs" % (r["load_before"][0], r["cpus"])
        for scen in ("storm", "mass-restart"):
            if scen not in r["scenarios"] or not r["series"]:
                continue
            t0 = r["scenarios"][scen]["t0"]
            t1 = r["scenario_end"][scen]
            fig, ax = plt.subplots(figsize=(7, 4))
            for obs in r["observers"]:
                pts = [(t - t0, c[obs]) for t, c in r["series"] if t0 <= t <= t1 and obs in c]
                if pts:
                    ax.plot(*zip(*pts), label=obs, lw=1)
            ax.axhline(r["n"], color="grey", ls=":")
            ax.set_xlabel("seconds since the first start")
            ax.set_ylabel("members seen alive")
            ax.set_title("%s N=%d %s (%s)" % (r["impl"], r["n"], scen, load))
            ax.legend(fontsize=7)
            name = os.path.join(outdir, "%s-n%d-%s.png" % (r["impl"], r["n"], scen))
            fig.savefig(name, dpi=90, bbox_inches="tight")
            plt.close(fig)
            files.append(name)
    by_impl = {}
    for r in runs:
        if "idle" in r["scenarios"]:
            by_impl.setdefault(r["impl"], []).append(r)
    if any(len(v) > 1 for v in by_impl.values()):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        for impl, rs in by_impl.items():
            rs.sort(key=lambda r: r["n"])
            ns = [r["n"] for r in rs]
            a1.plot(ns, [r["scenarios"]["idle"]["cpu_s_per_min_mean"] for r in rs], "o-", label=impl)
            a2.plot(ns, [r["scenarios"]["idle"]["rss_mib_median"] for r in rs], "o-", label=impl)
        a1.set_xlabel("N")
        a1.set_ylabel("idle CPU per agent, s/min")
        a2.set_xlabel("N")
        a2.set_ylabel("RSS median, MiB")
        a1.legend()
        fig.suptitle("loads: " + ", ".join("%d: %.1f" % (r["n"], r["load_before"][0]) for r in runs))
        name = os.path.join(outdir, "cpu-memory-vs-n.png")
        fig.savefig(name, dpi=90, bbox_inches="tight")
        plt.close(fig)
        files.append(name)
    return files


def plots_with_debian_python(runs, outdir):
    """Debian's python3-matplotlib is installed for /usr/bin/python3; the
    harness may run under another python3 (pyenv, a venv)."""
    if os.path.realpath(sys.executable) == os.path.realpath(DEBIAN_PYTHON) or not os.path.exists(DEBIAN_PYTHON):
        print("python3-matplotlib not installed: no plots", flush=True)
        return []
    os.makedirs(outdir, exist_ok=True)
    tmp = os.path.join(outdir, ".runs.json")
    with open(tmp, "w") as f:
        json.dump({"runs": runs}, f)
    try:
        out = subprocess.run([DEBIAN_PYTHON, os.path.abspath(__file__), outdir, tmp], capture_output=True, text=True)
    finally:
        os.remove(tmp)
    if out.returncode != 0:
        print("plots failed: " + out.stderr[-500:], flush=True)
        return []
    return out.stdout.split()


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    saved = []
    for path in sys.argv[2:]:
        with open(path) as f:
            saved += json.load(f)["runs"]
    print(" ".join(plots(saved, sys.argv[1])))
