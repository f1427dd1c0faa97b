#!/usr/bin/env python3
"""Failure detection under hard faults, chorus beside Debian's serf (issue 15).

Each scenario runs one cluster per implementation, both at once, each in its
own network namespace (agents on 127.0.0.x inside, lo up), same N, same
timings (both agents' defaults: memberlist's LAN profile), same fault:

  crash              one node killed with -9, three times (quiet network)
  lossy              one node loses 80 % of its packets both ways, UDP and TCP
  deaf               one node receives no UDP (still sends)
  mute               one node sends no UDP (still receives)
  flip-flop          deaf switched on and off every 20 s
  starved            two nodes stopped 4 s of every 5 s (SIGSTOP/SIGCONT)
  mass-crash         N/5 nodes (10 of 50) killed at once, restarted with the same names
  partial-partition  nodes A and B cannot reach each other; everyone else reaches both

Faults are iptables rules inside the namespace (the statistic match for
loss: this kernel has no netem; one rule per address and direction for
one-way faults; the RPC port is spared) and signals. Everything is measured
from every agent's event-handler log (member-failed / member-join, stamped
with the wall clock by the handler):

  false_failures    member-failed about a healthy node (not faulty, never
                    killed) seen by a healthy observer; what the faulty node
                    itself declares is reported apart (false_failures_at_faulty)
  flaps             failed -> alive again of a faulty node, summed over observers
  detect_median_s   kill -> member-failed at each live observer (crash, mass-crash)

and for chorus the explanation its log gives of each false failure.

  python3 bench/faults/run.py --chorus build/src/cli/chorus --serf /usr/bin/serf --quick --json out.json
  python3 bench/faults/run.py --nodes 10 --fault-seconds 60 --scenarios deaf,crash   # a smoke pass

Network namespaces and iptables need root. Every process and namespace the
run made is removed on exit, on error and on Ctrl-C.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
import cluster  # noqa: E402

SCENARIOS = ["crash", "lossy", "deaf", "mute", "flip-flop", "starved", "mass-crash", "partial-partition"]
RPC_PORT = "7373"


# -- faults ---------------------------------------------------------------
class Firewall:
    """iptables rules in one namespace, removed again by clear()."""

    def __init__(self, netns):
        self.netns = netns
        self.rules = []

    def _ipt(self, op, rule):
        subprocess.run(["ip", "netns", "exec", self.netns, "iptables", op] + rule, check=True)

    def add(self, rule):
        self._ipt("-A", rule)
        self.rules.append(rule)

    def remove(self, rule):
        if rule in self.rules:
            self._ipt("-D", rule)
            self.rules.remove(rule)

    def clear(self):
        for rule in list(self.rules):
            self.remove(rule)


def loss_rules(ip, inbound, outbound, tcp):
    """Rules dropping `ip`'s inbound/outbound packets with probability p
    (1.0: all). Gossip and TCP between agents; the RPC port is spared."""
    rules = []
    protos = [["-p", "udp"]] + ([["-p", "tcp", "-m", "multiport", "!", "--ports", RPC_PORT]] if tcp else [])
    for chain, sel, p in (("INPUT", "-d", inbound), ("OUTPUT", "-s", outbound)):
        if p <= 0:
            continue
        stat = [] if p >= 1 else ["-m", "statistic", "--mode", "random", "--probability", str(p)]
        for proto in protos:
            rules.append([chain, sel, ip] + proto + stat + ["-j", "DROP"])
    return rules


# -- one implementation's run of one scenario -----------------------------
class Run:
    def __init__(self, impl, binary, scenario, n, fault_s, workdir, index):
        self.impl, self.scenario, self.n, self.fault_s = impl, scenario, n, fault_s
        self.netns = "faults-%d-%s-%d" % (os.getpid(), impl, index)
        cluster.make_netns(self.netns)
        self.c = cluster.Cluster(impl, binary, n, "127.0.0", os.path.join(workdir, impl), netns=self.netns)
        self.fw = Firewall(self.netns)
        self.faulty = []  # agents the fault breaks
        self.killed = {}  # name -> kill time (wall clock)
        self.restarted = {}  # name -> restart time
        self.t0 = self.t1 = None
        self.error = None
        self.stopped = set()

    def rpc_ok(self, a):
        """The harness lives outside the namespace: it asks through the
        implementation's own CLI run inside it."""
        r = subprocess.run(["ip", "netns", "exec", self.netns, self.c.binary, "members", "-rpc-addr=" + a.rpc_addr],
                           capture_output=True, text=True)
        return r.returncode == 0

    def setup(self):
        c = self.c
        c.start_agent(c.agents[0])
        deadline = time.monotonic() + 30
        while not self.rpc_ok(c.agents[0]):
            if c.agents[0].proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s: first agent did not start; log %s" % (self.impl, c.agents[0].log))
            time.sleep(0.1)
        for a in c.agents[1:]:
            c.start_agent(a, join=c.agents[0].gossip)
        # Formed when every handler has logged a join of every other member.
        deadline = time.monotonic() + 120
        while not all(len({x for _, ev, x in c.read_events(a) if ev == "member-join"} - {a.name}) >= self.n - 1
                      for a in c.agents):
            if time.monotonic() > deadline:
                raise RuntimeError("%s: cluster of %d did not form" % (self.impl, self.n))
            time.sleep(0.2)
        time.sleep(5)  # quiet: the join's events are flushed before the fault

    def run(self):
        try:
            self.t0 = time.time()
            getattr(self, "fault_" + self.scenario.replace("-", "_"))()
            self.t1 = time.time()
        except Exception as e:  # noqa: BLE001 - reported with the results
            self.error = "%s: %s" % (self.impl, e)
        finally:
            self.fw.clear()
            for a in list(self.stopped):
                os.kill(a.pid, signal.SIGCONT)
            self.stopped.clear()

    # Each fault_* lasts fault_s seconds and returns with the fault still on;
    # run() removes it.
    def fault_crash(self):
        gap = self.fault_s / 3.0
        for i in range(3):
            a = self.c.agents[1 + i]
            self.killed[a.name] = time.time()
            self.c.kill(a)
            time.sleep(gap)

    def one_way(self, inbound, outbound, tcp):
        a = self.c.agents[1]
        self.faulty = [a]
        for r in loss_rules(a.ip, inbound, outbound, tcp):
            self.fw.add(r)
        time.sleep(self.fault_s)

    def fault_lossy(self):
        self.one_way(0.8, 0.8, True)

    def fault_deaf(self):
        self.one_way(1.0, 0, False)

    def fault_mute(self):
        self.one_way(0, 1.0, False)

    def fault_flip_flop(self):
        a = self.c.agents[1]
        self.faulty = [a]
        rules = loss_rules(a.ip, 1.0, 0, False)
        end = time.time() + self.fault_s
        deaf = False
        while time.time() < end:
            for r in rules:
                (self.fw.remove if deaf else self.fw.add)(r)
            deaf = not deaf
            time.sleep(min(20, max(0, end - time.time())))

    def fault_starved(self):
        self.faulty = self.c.agents[1:3]
        end = time.time() + self.fault_s
        while time.time() < end:
            for a in self.faulty:
                os.kill(a.pid, signal.SIGSTOP)
                self.stopped.add(a)
            time.sleep(4)
            for a in self.faulty:
                os.kill(a.pid, signal.SIGCONT)
                self.stopped.discard(a)
            time.sleep(1)

    def fault_mass_crash(self):
        victims = self.c.agents[self.n - max(1, self.n // 5):]
        for a in victims:
            self.killed[a.name] = time.time()
            os.kill(a.pid, signal.SIGKILL)
        for a in victims:
            self.c.kill(a)
        time.sleep(self.fault_s * 0.6)
        for a in victims:  # same names, same addresses, join the first agent
            self.restarted[a.name] = time.time()
            a.gone = False
            self.c.start_agent(a, join=self.c.agents[0].gossip)
        time.sleep(self.fault_s * 0.4)

    def fault_partial_partition(self):
        a, b = self.c.agents[1], self.c.agents[2]
        for x, y in ((a, b), (b, a)):
            self.fw.add(["INPUT", "-s", x.ip, "-d", y.ip, "-j", "DROP"])
        time.sleep(self.fault_s)

    def teardown(self):
        self.c.stop()
        cluster.delete_netns(self.netns)

    # -- measurement --------------------------------------------------------
    def events(self, a):
        """(t, event, member) from the agent's handler log; a restarted agent
        wrote a fresh log, the killed one's is lost, which only loses that
        agent's view of its own death."""
        return self.c.read_events(a)

    def results(self, tail_end):
        faulty = {a.name for a in self.faulty}
        healthy_obs = [a for a in self.c.agents if a.name not in faulty and a.name not in self.killed]
        false_by_obs, at_faulty, flaps, detect, rejoin = {}, 0, 0, [], []
        for a in self.c.agents:
            failed = set()
            for t, ev, who in self.events(a):
                if t < self.t0 or t > tail_end or who == a.name:
                    continue
                back = who in self.restarted and t >= self.restarted[who]
                if ev == "member-failed" and who in self.killed and not back:
                    if a.name not in self.killed and who not in failed:
                        detect.append(t - self.killed[who])
                    failed.add(who)
                elif ev == "member-failed" and who in faulty:
                    failed.add(who)
                elif ev == "member-failed":
                    if a.name in faulty:
                        at_faulty += 1
                    elif a in healthy_obs or a.name in self.restarted:
                        false_by_obs[a.name] = false_by_obs.get(a.name, 0) + 1
                elif ev == "member-join" and who in faulty and who in failed:
                    flaps += 1
                    failed.discard(who)
                elif ev == "member-join" and who in self.restarted and t >= self.restarted[who]:
                    if a.name not in self.killed:
                        rejoin.append(t - self.restarted[who])
        out = {
            "false_failures": sum(false_by_obs.values()),
            "false_failures_by_observer": false_by_obs,
            "false_failures_at_faulty": at_faulty,
            "flaps": flaps,
            "detect_median_s": round(statistics.median(detect), 3) if detect else None,
            "detect_max_s": round(max(detect), 3) if detect else None,
            "detections": len(detect),
        }
        if self.restarted:
            out["rejoin_max_s"] = round(max(rejoin), 3) if rejoin else None
            out["rejoins"] = len(rejoin)
        if self.impl == "chorus":
            out["explanations"] = self.explanations(faulty, tail_end)
        if self.error:
            out["error"] = self.error
        return out

    def explanations(self, faulty, tail_end):
        """chorus logs why a member failed: "EventMemberFailed: NAME IP (why)"."""
        out = []
        pat = re.compile(r"EventMemberFailed: (\S+) \S+ \((.*)\)\s*$")
        for a in self.c.agents:
            if a.name in faulty:
                continue
            try:
                with open(a.log, errors="replace") as f:
                    for line in f:
                        m = pat.search(line)
                        if m and m.group(1) not in faulty and m.group(1) not in self.killed:
                            out.append("%s about %s: %s" % (a.name, m.group(1), m.group(2)))
            except OSError:
                pass
        return out


# -- driver ---------------------------------------------------------------
def run_scenario(name, binaries, n, fault_s, tail_s, workdir, index):
    runs = [Run(impl, path, name, n, fault_s, os.path.join(workdir, name), index) for impl, path in binaries]
    try:
        errors = []

        def guarded(r, fn):
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                errors.append(str(e))

        threads = [threading.Thread(target=guarded, args=(r, r.setup)) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError("; ".join(errors))
        threads = [threading.Thread(target=r.run) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(tail_s)  # late events: suspicions started during the fault
        end = time.time()
        return {r.impl: r.results(end) for r in runs}
    finally:
        for r in runs:
            r.teardown()


def load_note():
    with open("/proc/loadavg") as f:
        return "load average %s, %d cores" % (" ".join(f.read().split()[:3]), os.cpu_count())


def print_table(name, res):
    print("\n### %s\n" % name)
    print("| | false failures | by the faulty node | flaps | detection median s | max s |")
    print("|---|---|---|---|---|---|")
    for impl, r in res.items():
        print("| %s | %d | %d | %d | %s | %s |" % (impl, r["false_failures"], r["false_failures_at_faulty"],
                                                  r["flaps"], r["detect_median_s"], r["detect_max_s"]))
        if r.get("rejoin_max_s") is not None:
            print("|   rejoin after restart, max | %s s (%d) | | | | |" % (r["rejoin_max_s"], r["rejoins"]))
        for e in r.get("explanations", [])[:10]:
            print("|   why | %s | | | | |" % e)
        if r.get("error"):
            print("|   error | %s | | | | |" % r["error"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--chorus", default=os.path.join(here, "..", "..", "build", "src", "cli", "chorus"))
    ap.add_argument("--serf", default="/usr/bin/serf")
    ap.add_argument("--quick", action="store_true", help="N = 20, 75 s of fault per scenario (~15 min)")
    ap.add_argument("--nodes", type=int, help="cluster size (default: 20 and 50; 20 with --quick)")
    ap.add_argument("--fault-seconds", type=float, help="fault duration (default 300; 75 with --quick)")
    ap.add_argument("--tail-seconds", type=float, default=15, help="measured after the fault is removed")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--impl", default="chorus,serf", help="which implementations to run")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--workdir", help="logs (default: a temporary directory, kept)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run.py needs root (ip netns, iptables)")
    sizes = [a.nodes] if a.nodes else ([20] if a.quick else [20, 50])
    fault_s = a.fault_seconds or (75 if a.quick else 300)
    paths = {"chorus": os.path.abspath(a.chorus), "serf": a.serf}
    binaries = [(impl, paths[impl]) for impl in a.impl.split(",")]
    workdir = a.workdir or tempfile.mkdtemp(prefix="chorus-faults-")
    out = {"scenarios": {}, "params": {"sizes": sizes, "fault_s": fault_s, "load_before": load_note()}}
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(130))
    try:
        index = 0
        for n in sizes:
            for name in a.scenarios.split(","):
                if name not in SCENARIOS:
                    sys.exit("unknown scenario %s (%s)" % (name, ", ".join(SCENARIOS)))
                index += 1
                res = run_scenario(name, binaries, n, fault_s, a.tail_seconds, os.path.join(workdir, "n%d" % n),
                                   index)
                key = name if len(sizes) == 1 else "%s-n%d" % (name, n)
                out["scenarios"][key] = res
                print_table("%s, N = %d, %g s of fault (%s)" % (name, n, fault_s, load_note()), res)
                sys.stdout.flush()
    finally:
        cluster.cleanup_all()
    out["params"]["load_after"] = load_note()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    print("\nlogs in %s" % workdir)


if __name__ == "__main__":
    main()
