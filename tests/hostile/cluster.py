"""Three chorus agents on loopback for the hostile-input suite, and what the
suite checks after every case: alive, RSS, Prometheus counters, and a user
event reaching every agent's handler. Agents on 127.93.0.1-3 (clients use
127.93.1.x and 127.93.2.x as source addresses); every process started here
is killed by PID at the end."""
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from wire import mp

# Replies are read with the decoder of the project's Python RPC client.
# Appended, not prepended: bench/cluster has a cluster.py of its own.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "cluster"))
from rpc import NeedMore, unpack  # noqa: E402

NET = "127.93.0."
KEY = bytes(range(32))
TOKEN = "hostile-token"
METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def free(ip, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Agent:
    # serf=True: Debian's serf 0.9.4 with the same settings, for the by-hand
    # comparison (no metrics listener; the RPC token from a config file).
    def __init__(self, binary, workdir, index, join=None, extra=(), serf=False):
        self.name = "h%d" % index
        self.ip = NET + str(index)
        self.events = os.path.join(workdir, self.name + ".events")
        self.log = os.path.join(workdir, self.name + ".log")
        open(self.events, "w").close()
        for port in (7946, 7373, 9100):
            if not free(self.ip, port):
                raise RuntimeError("%s:%d is taken (a leftover agent?)" % (self.ip, port))
        handler = "user:probe=cat >> %s; echo >> %s" % (self.events, self.events)
        self.serf = serf
        argv = [binary, "agent", "-node=" + self.name, "-bind=%s:7946" % self.ip, "-rpc-addr=%s:7373" % self.ip,
                "-encrypt=" + base64.b64encode(KEY).decode(), "-profile=local", "-log-level=debug",
                "-event-handler=" + handler]
        if serf:
            config = os.path.join(workdir, self.name + ".json")
            with open(config, "w") as f:
                f.write('{"rpc_auth": "%s"}' % TOKEN)
            argv.append("-config-file=" + config)
        else:
            argv += ["-metrics-addr=%s:9100" % self.ip, "-rpc-auth=" + TOKEN]
        if join:
            argv.append("-join=" + join)
        argv += list(extra)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def alive(self):
        return self.proc.poll() is None

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def metrics(self):
        if self.serf:
            return {}
        with urllib.request.urlopen("http://%s:9100/metrics" % self.ip, timeout=3) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = METRIC_LINE.match(line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


class Rpc:
    """A raw Serf RPC client: one TCP connection, requests written as
    go-msgpack (RPC flavour), replies read as header (+ body)."""

    def __init__(self, ip, timeout=5.0, source=None):
        self.sock = socket.create_connection((ip, 7373), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.seq = 0

    def send(self, command, body=None, raw_body=None):
        self.seq += 1
        data = mp({"Command": command, "Seq": self.seq}, rpc=True)
        if raw_body is not None:
            data += raw_body
        elif body is not None:
            data += mp(body, rpc=True)
        self.sock.sendall(data)
        return self.seq

    def read(self):
        """The next msgpack object; None when the agent closed first."""
        while True:
            try:
                v, used = unpack(self.buf)
                self.buf = self.buf[used:]
                return v
            except NeedMore:
                pass
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def call(self, command, body=None, has_reply_body=False):
        self.send(command, body)
        header = self.read()
        if header is None:
            return None, None
        reply = self.read() if has_reply_body and not header.get("Error") else None
        return header, reply

    def login(self):
        h, _ = self.call("handshake", {"Version": 1})
        assert h == {"Error": "", "Seq": self.seq}, h
        h, _ = self.call("auth", {"AuthKey": TOKEN})
        assert h == {"Error": "", "Seq": self.seq}, h
        return self

    def closed_by_peer(self, wait=3.0):
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def wait_until(pred, limit, step=0.05):
    end = time.monotonic() + limit
    while True:
        if pred():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


class Cluster:
    def __init__(self, binary, workdir, serf=False):
        self.agents = []
        self.workdir = workdir
        self.serf = serf
        try:
            self.agents.append(Agent(binary, workdir, 1, serf=serf))
            self._wait_rpc(self.agents[0])
            for i in (2, 3):
                self.agents.append(Agent(binary, workdir, i, join=NET + "1", serf=serf))
            if not wait_until(lambda: all(self.alive_members(a) == 3 for a in self.agents), 20):
                raise RuntimeError("the cluster did not form")
        except BaseException:
            self.stop()
            raise

    def _wait_rpc(self, a):
        def up():
            try:
                Rpc(a.ip, timeout=1).close()
                return True
            except OSError:
                return False

        if not wait_until(up, 10):
            raise RuntimeError(a.name + " did not open its RPC port")

    @property
    def target(self):
        return self.agents[0]

    def member_names(self):
        c = Rpc(self.target.ip).login()
        h, body = c.call("members", has_reply_body=True)
        c.close()
        return [m["Name"] for m in body["Members"]]

    def alive_members(self, a):
        try:
            c = Rpc(a.ip).login()
            h, body = c.call("members", has_reply_body=True)
            c.close()
            return sum(1 for m in body["Members"] if m["Status"] == "alive") if h and body else -1
        except (OSError, AssertionError, KeyError, TypeError):
            return -1

    def deliver_event(self, marker, via=1, limit=10.0):
        """Sends user event `probe` with payload `marker` through agent `via`
        and waits until every agent's handler has written it."""
        c = Rpc(self.agents[via].ip).login()
        h, _ = c.call("event", {"Coalesce": False, "Name": "probe", "Payload": marker.encode()})
        c.close()
        if not h or h.get("Error"):
            return False
        return wait_until(lambda: all(marker in open(a.events).read() for a in self.agents), limit)

    def stop(self):
        for a in self.agents:
            a.kill()
