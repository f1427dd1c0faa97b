"""A fleet of N real agents of one binary inside the network namespace the
harness runs in (bench/fleet/run.py): starting and stopping them, reading
every agent's member counts over RPC (`stats`, pipelined over one connection
per agent), the fleet's /proc and network counters, and chorus's Prometheus
metrics. Processes are started and killed through bench/cluster/cluster.py
(by PID; cluster.cleanup_all() kills whatever is left)."""

import os
import random
import signal
import socket
import subprocess
import time
import urllib.request

import cluster as cl
import rpc

METRICS_PORT = 9100


def ip_of(i):
    """Agent i's loopback address: 127.70.0.1 .. 127.70.255.250 (N <= 64,000)."""
    return "127.70.%d.%d" % (i // 250, i % 250 + 1)


class Fleet:
    def __init__(self, impl, binary, n, workdir, observers, rng):
        self.impl = impl
        self.n = n
        self.rng = rng
        self.c = cl.Cluster(impl, binary, n, None, workdir, ip_of=ip_of)
        self.agents = self.c.agents
        step = max(1, n // max(1, observers))
        self.observers = [self.agents[i] for i in range(0, n, step)][:observers]
        self.observer_names = {a.name for a in self.observers}
        self.series = []  # (wall time, {observer name: alive count}) of every poll
        self.exits = {}  # agent name -> (exit code, last log line) of unexpected exits

    # -- processes ---------------------------------------------------------
    def start(self, a, join=(), retry=False, fresh=True, binary=None):
        """Starts agent `a` with its snapshot; observers log at info and run
        the event handler, the rest are quiet (warn, no handler). retry:
        -retry-join (every 2 s) instead of -join, which exits on failure."""
        args = ["-snapshot=" + a.snapshot]
        if self.impl == "chorus":
            args.append("-metrics-addr=%s:%d" % (a.ip, METRICS_PORT))
        if retry:
            args += ["-retry-join=" + j for j in join] + ["-retry-interval=2s"]
            join = ()
        observer = a.name in self.observer_names
        saved = self.c.binary
        if binary:
            self.c.binary = binary
        try:
            self.c.start_agent(a, join=list(join), handler=observer, log_level="info" if observer else "warn",
                               args=args, fresh=fresh)
        finally:
            self.c.binary = saved
        a.client = None
        a.started = time.time()

    def peers_for(self, a, candidates, k=3):
        pool = [b.gossip for b in candidates if b is not a]
        return self.rng.sample(pool, min(k, len(pool)))

    def stop(self, agents, sig=signal.SIGTERM, timeout=15.0):
        """Stops agents (SIGTERM: no leave, the snapshot stays) and waits for
        them; SIGKILL after `timeout`."""
        for a in agents:
            self.drop_client(a)
            if a.proc and a.proc.poll() is None:
                os.kill(a.proc.pid, sig)
        deadline = time.monotonic() + timeout
        for a in agents:
            try:
                a.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(a.proc.pid, signal.SIGKILL)
                a.proc.wait()
            a.gone = True

    def drop_client(self, a):
        if a.client:
            a.client.close()
            a.client = None

    def check_exits(self):
        """Agents that exited without being asked to: recorded with the last
        line of their log (e.g. chorus's `startup join failed`)."""
        for a in self.agents:
            if not a.gone and a.proc and a.proc.poll() is not None:
                a.gone = True
                self.drop_client(a)
                last = ""
                try:
                    with open(a.log, errors="replace") as f:
                        lines = [ln.strip() for ln in f if ln.strip()]
                    last = lines[-1] if lines else ""
                except OSError:
                    pass
                self.exits[a.name] = (a.proc.returncode, last[-200:])

    # -- member counts -----------------------------------------------------
    def poll(self):
        """Every live agent's Serf stats: {name: (alive, failed, left,
        health)}; agents not answering (yet) are missing."""
        self.check_exits()
        live = [a for a in self.agents if not a.gone]
        for a in live:
            if a.client is None:
                try:
                    # Short: an agent still starting must not hold up the
                    # poll of the others; it is tried again next poll.
                    a.client = rpc.Client(a.rpc_addr, timeout=0.5)
                    a.client.sock.settimeout(10)
                except (OSError, rpc.RpcError):
                    continue
        asked = []
        for a in live:
            if a.client:
                try:
                    a.client.send("stats")
                    asked.append(a)
                except OSError:
                    self.drop_client(a)
        out = {}
        for a in asked:
            try:
                s = a.client.finish("stats")["serf"]
            except (OSError, rpc.RpcError, socket.timeout):
                self.drop_client(a)
                continue
            members, failed, left = int(s["members"]), int(s["failed"]), int(s["left"])
            out[a.name] = (members - failed - left, failed, left, int(s.get("health_score", 0)))
        self.series.append((time.time(), {k: v[0] for k, v in out.items() if k in self.observer_names}))
        return out

    def wait(self, pred, timeout, every=0.5, on_poll=None):
        """Polls until pred(stats) holds; returns the wall time of that poll
        or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.poll()
            if on_poll:
                on_poll(stats)
            if pred(stats):
                return time.time()
            if time.monotonic() > deadline:
                return None
            time.sleep(every)

    def all_see(self, alive, failed=None, left=None):
        """A predicate: every live agent answers and sees `alive` alive (and
        exactly `failed` failed, `left` left when given)."""
        def pred(stats):
            live = [a for a in self.agents if not a.gone]
            if len(stats) < len(live):
                return False
            return all(v[0] == alive and (failed is None or v[1] == failed) and (left is None or v[2] == left)
                       for v in stats.values())
        return pred

    # -- observers' handler logs -------------------------------------------
    def events(self, kinds, since, until=None):
        """(time, observer, event, member) from the observers' handlers."""
        out = []
        for a in self.observers:
            for t, ev, x in self.c.read_events(a):
                if ev in kinds and t >= since and (until is None or t <= until):
                    out.append((t, a.name, ev, x))
        return out

    def wait_events(self, kind, members, since, timeout):
        """Waits (the handlers coalesce member events for a few seconds) until
        every live observer's handler logged `kind` for each of `members`;
        returns whether they all did."""
        deadline = time.monotonic() + timeout
        want = set(members)
        while True:
            seen = {}
            for t, who, _, x in self.events({kind}, since):
                seen.setdefault(who, set()).add(x)
            if all(want <= seen.get(a.name, set()) for a in self.observers if not a.gone):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)

    # -- resources ---------------------------------------------------------
    def pids(self):
        return {a.name: a.proc.pid for a in self.agents if not a.gone}

    def metrics(self):
        """Sum over the live agents of every Prometheus sample (chorus only;
        {} for serf)."""
        if self.impl != "chorus":
            return {}
        total = {}
        for a in self.agents:
            if a.gone:
                continue
            try:
                with urllib.request.urlopen("http://%s:%d/metrics" % (a.ip, METRICS_PORT), timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                key, _, value = line.rpartition(" ")
                try:
                    total[key] = total.get(key, 0.0) + float(value)
                except ValueError:
                    pass
        return total


def net_counters():
    """This namespace's UDP datagrams and TCP connections (/proc/net/snmp)
    and bytes over lo (/proc/net/dev): every agent's traffic, and the
    harness's own RPC polling."""
    out = {}
    with open("/proc/net/snmp") as f:
        rows = [ln.split() for ln in f]
    for head, vals in zip(rows[::2], rows[1::2]):
        for k, v in zip(head[1:], vals[1:]):
            out[head[0].rstrip(":") + k] = int(v)
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                fields = line.split(":", 1)[1].split()
                out["lo_bytes"] = int(fields[8])  # transmitted (= received on lo)
                out["lo_packets"] = int(fields[9])
    return out


def new_rng(seed):
    return random.Random(seed)
