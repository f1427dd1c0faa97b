"""Local clusters of Serf-compatible agents for the benchmarks (bench/cluster,
bench/fleet): start N agents of one binary on loopback addresses, join them,
read their event-handler logs and their /proc figures, and stop every process
this module started (by PID).
"""

import os
import signal
import subprocess
import threading
import time

import rpc

# One line per event (and per member of a member event), stamped by the
# handler with the wall clock: "<epoch seconds> <event> <member or name>".
HANDLER = r"""#!/bin/bash
# Benchmark event handler (bench/cluster): appends what it saw to $1.
log=$1
t=$EPOCHREALTIME
case $SERF_EVENT in
  member-*)
    while IFS=$'\t' read -r name _; do printf '%s %s %s\n' "$t" "$SERF_EVENT" "$name"; done >>"$log" ;;
  user)
    cat >/dev/null; printf '%s user %s\n' "$t" "$SERF_USER_EVENT" >>"$log" ;;
  query)
    cat >/dev/null; printf '%s query %s\n' "$t" "$SERF_QUERY_NAME" >>"$log"; printf 'ok %s' "$SERF_SELF_NAME" ;;
  *)
    cat >/dev/null ;;
esac
"""

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every process and network namespace started by this module, for cleanup.
_live = {}
_namespaces = set()
_lock = threading.Lock()


def cleanup_all():
    with _lock:
        procs = list(_live.values())
        _live.clear()
        namespaces = list(_namespaces)
        _namespaces.clear()
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    for ns in namespaces:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def make_netns(name):
    subprocess.run(["ip", "netns", "add", name], check=True)
    with _lock:
        _namespaces.add(name)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)


def delete_netns(name):
    subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
    with _lock:
        _namespaces.discard(name)


class Agent:
    def __init__(self, cluster, index):
        self.index = index
        self.name = "%s%d" % (cluster.prefix, index)
        self.ip = cluster.ip_of(index)
        self.gossip = self.ip + ":7946"
        self.rpc_addr = self.ip + ":7373"
        self.events = os.path.join(cluster.dir, self.name + ".events")
        self.log = os.path.join(cluster.dir, self.name + ".log")
        self.snapshot = os.path.join(cluster.dir, self.name + ".snap")
        self.proc = None
        self.client = None
        self.gone = False  # killed, stopped or left

    @property
    def pid(self):
        return self.proc.pid


class Cluster:
    """N agents of `binary` on `subnet`.1 .. `subnet`.N (default ports), or
    on the addresses `ip_of(index)` gives."""

    def __init__(self, impl, binary, n, subnet, workdir, netns=None, extra_args=(), ip_of=None):
        self.impl = impl
        self.binary = binary
        self.prefix = impl[0]  # short names keep member lists small
        self.n = n
        self.subnet = subnet
        self.netns = netns
        self.dir = workdir
        self.extra_args = list(extra_args)
        self.ip_of = ip_of or (lambda i: "%s.%d" % (subnet, i + 1))
        os.makedirs(workdir, exist_ok=True)
        self.handler = os.path.join(workdir, "handler.sh")
        with open(self.handler, "w") as f:
            f.write(HANDLER)
        os.chmod(self.handler, 0o755)
        self.agents = [Agent(self, i) for i in range(n)]

    # -- processes ---------------------------------------------------------
    def start_agent(self, a, join=None, handler=True, log_level="info", args=(), fresh=True):
        """Starts agent `a`. join: an address or a list of them (-join each).
        handler=False and log_level="warn" make a quiet agent; fresh=False
        appends to its log and event files (a restart) instead of emptying
        them."""
        cmd = [self.binary, "agent", "-node=" + a.name, "-bind=" + a.ip, "-rpc-addr=" + a.rpc_addr,
               "-log-level=" + log_level] + self.extra_args + list(args)
        if handler:
            cmd.append("-event-handler=%s %s" % (self.handler, a.events))
        for j in ([join] if isinstance(join, str) else (join or [])):
            cmd.append("-join=" + j)
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        if fresh:
            open(a.events, "w").close()
        with open(a.log, "wb" if fresh else "ab") as log:
            # Own session: a Ctrl-C in the terminal reaches only the harness,
            # which then kills the agents itself.
            a.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        a.gone = False
        with _lock:
            _live[a.proc.pid] = a.proc

    def start(self):
        for a in self.agents:
            self.start_agent(a)

    def connect_all(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        for a in self.agents:
            while True:
                if a.proc.poll() is not None:
                    raise RuntimeError("%s exited with %s; log %s" % (a.name, a.proc.returncode, a.log))
                try:
                    a.client = rpc.Client(a.rpc_addr, timeout=10)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("no RPC from %s at %s" % (a.name, a.rpc_addr))
                    time.sleep(0.02)

    def stop(self):
        for a in self.agents:
            if a.client:
                a.client.close()
            if a.proc and a.proc.poll() is None:
                os.kill(a.proc.pid, signal.SIGKILL)
        for a in self.agents:
            if a.proc:
                a.proc.wait()
                with _lock:
                    _live.pop(a.proc.pid, None)

    def kill(self, a):
        os.kill(a.pid, signal.SIGKILL)
        a.proc.wait()
        a.gone = True
        if a.client:
            a.client.close()
            a.client = None

    def live(self):
        return [a for a in self.agents if not a.gone]

    # -- membership --------------------------------------------------------
    def join_all(self):
        """Every agent but the first joins the first, all at once (one thread
        each: a join RPC returns after its push/pull)."""
        seed = self.agents[0].gossip
        errors = []

        def join(a):
            try:
                c = rpc.Client(a.rpc_addr, timeout=30)
                c.call("join", {"Existing": [seed], "Replay": False})
                c.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("%s: %s" % (a.name, e))

        threads = [threading.Thread(target=join, args=(a,)) for a in self.agents[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError("join failed: " + "; ".join(errors[:3]))

    def wait_members(self, want, timeout, poll=0.05):
        """Polls every agent's member count (`stats`, pipelined over all
        connections) until each knows `want` members. Returns the monotonic
        time at which the last one was seen complete, or None on timeout."""
        pending = list(self.live())
        deadline = time.monotonic() + timeout
        last = None
        while pending:
            for a in pending:
                a.client.send("stats")
            still = []
            for a in pending:
                stats = a.client.finish("stats")
                if int(stats["serf"]["members"]) >= want:
                    last = time.monotonic()
                else:
                    still.append(a)
            pending = still
            if not pending:
                return last
            if time.monotonic() > deadline:
                return None
            time.sleep(poll)
        return last

    def alive_counts(self):
        out = []
        for a in self.live():
            members = a.client.call("members")["Members"]
            out.append(sum(1 for m in members if m.get("Status") == "alive"))
        return out

    # -- event handler logs ------------------------------------------------
    def read_events(self, a):
        rows = []
        with open(a.events) as f:
            for line in f:
                parts = line.split(" ", 2)
                if len(parts) == 3:
                    rows.append((float(parts[0].replace(",", ".")), parts[1], parts[2].rstrip("\n")))
        return rows

    def wait_handlers(self, observers, event, arg, timeout, poll=0.02):
        """Waits until each observer's handler logged (event, arg). Returns
        the latest of their handler timestamps (wall clock), or None."""
        deadline = time.monotonic() + timeout
        seen = {}
        while len(seen) < len(observers):
            for a in observers:
                if a.name in seen:
                    continue
                for t, ev, x in self.read_events(a):
                    if ev == event and x == arg:
                        seen[a.name] = t
                        break
            if len(seen) == len(observers):
                break
            if time.monotonic() > deadline:
                return None
            time.sleep(poll)
        return max(seen.values())

    def count_events(self, event, since, until):
        out = []
        for a in self.agents:
            for t, ev, x in self.read_events(a):
                if ev == event and since <= t <= until:
                    out.append((t, a.name, x))
        return out


# -- /proc figures ---------------------------------------------------------
def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime, stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    """Proportional set size: shared pages (libraries, the binary) divided
    among the processes mapping them; with N agents of one binary it is
    what each agent really costs the machine."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def status_fields(pid, keys=("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads")):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def rss_by_mapping(pid):
    """Resident KiB per mapping name (the binary, each shared library,
    [heap], [stack], anonymous), from /proc/PID/smaps."""
    out = {}
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else "[anon]"
                name = os.path.basename(name) if name.startswith("/") else name
            elif first == "Rss:":
                out[name] = out.get(name, 0) + int(line.split()[1])
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
