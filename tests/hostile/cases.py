"""The hostile-input cases: each sends crafted bytes to agent h1 over UDP,
TCP gossip or RPC, and names the Prometheus counters that must move. A case
returns a short text of what the agent did (for the report) and raises
AssertionError when the agent did something it must not."""
import os
import socket
import struct
import threading
import time

from cluster import KEY, NET, TOKEN, Rpc, wait_until
from wire import Sealer, compress_msg, lzw, lzw_run, mp

WRONG_KEY = bytes(reversed(range(32)))
SEAL = Sealer()
VSN = bytes([1, 5, 2, 2, 5, 5])

MALFORMED_UDP = 'chorus_malformed_packets_total{transport="udp"}'
MALFORMED_TCP = 'chorus_malformed_packets_total{transport="tcp"}'


def fault(transport, name):
    return 'chorus_malformed_faults_total{transport="%s",fault="%s"}' % (transport, name)


def refused(reason):
    return 'chorus_malformed_messages_total{reason="%s"}' % reason


def rpc_refused(reason):
    return 'chorus_rpc_requests_refused_total{reason="%s"}' % reason


def alive(name, vsn=VSN, meta=None, incarnation=1):
    return b"\x04" + mp({"Addr": socket.inet_aton(NET + "77"), "Incarnation": incarnation, "Meta": meta,
                         "Node": name, "Port": 7946, "Vsn": vsn})


def user_event(name, payload, ltime):
    # memberlist user message (8) carrying Serf's userEvent (3).
    return b"\x08\x03" + mp({"CC": False, "LTime": ltime, "Name": name, "Payload": payload})


def ping(seq=1, node="h1"):
    return b"\x00" + mp({"Node": node, "SeqNo": seq})


def push_pull_header(nodes, user_state_len, join=False):
    return b"\x06" + mp({"Join": join, "Nodes": nodes, "UserStateLen": user_state_len})


def node_state(name, vsn=VSN):
    return mp({"Addr": socket.inet_aton(NET + "78"), "Incarnation": 1, "Meta": None, "Name": name, "Port": 7946,
               "State": 0, "Vsn": vsn})


def send_udp(agent, plain, key=KEY, times=1, sealed=None):
    data = sealed if sealed is not None else (SEAL.udp(key, plain) if key else plain)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((NET.replace(".0.", ".1.") + "1", 0))
    for _ in range(times):
        s.sendto(data, (agent.ip, 7946))
    s.close()
    return len(data)


def tcp_exchange(agent, data, source=NET.replace(".0.", ".1.") + "2", half_close=True, wait=3.0):
    """Sends `data` on a gossip TCP connection; returns (reply bytes, whether
    the agent closed within `wait`)."""
    s = socket.create_connection((agent.ip, 7946), timeout=wait, source_address=(source, 0))
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        reply, end = b"", time.monotonic() + wait
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return reply, True
            except socket.timeout:
                return reply, False
            if not chunk:
                return reply, True
            reply += chunk
        return reply, False
    finally:
        s.close()


def stream(plain, key=KEY):
    return SEAL.stream(key, plain)


def expect_closed(reply_closed, what):
    reply, closed = reply_closed
    assert closed, what + ": the agent kept the connection open"
    return "closed (%d reply bytes)" % len(reply)


# ---------------------------------------------------------------- UDP cases
def udp_lzw_bomb(c):
    bomb = compress_msg(lzw_run(0x08, 10 << 20))
    n = send_udp(c.target, bomb, times=20)
    return "20 x %d-byte datagram expanding to 10 MiB: dropped at the 64 KiB cap" % n


def udp_empty_decompressed(c):
    send_udp(c.target, compress_msg(lzw(b"")))
    return "dropped"


def udp_short_vsn(c):
    send_udp(c.target, alive("ghost-vsn", vsn=b"\x01"))
    time.sleep(0.2)
    assert "ghost-vsn" not in c.member_names(), "stored an alive with a 1-byte Vsn"
    return "alive refused, never stored or relayed"


def udp_empty_vsn_and_addr(c):
    send_udp(c.target, b"\x04" + mp({"Addr": b"\x01\x02", "Incarnation": 1, "Meta": None, "Node": "ghost-addr",
                                     "Port": 7946, "Vsn": None}))
    time.sleep(0.2)
    assert "ghost-addr" not in c.member_names()
    return "alive refused"


def udp_truncated_compound(c):
    parts = [ping(1), ping(2), ping(3)]
    table = b"".join(struct.pack(">H", len(p)) for p in parts)
    packet = b"\x07\x03" + table + b"".join(parts)
    send_udp(c.target, packet[:-10])
    return "earlier parts kept, the cut one dropped"


def udp_compound_table_cut(c):
    send_udp(c.target, b"\x07\xff\x00\x10\x00")  # 255 parts declared, one length
    return "dropped"


def udp_overlong_compound(c):
    # 255 parts (memberlist 0.2.2 mis-parses >= 128), each a byte no decoder knows.
    packet = b"\x07\xff" + b"\x00\x01" * 255 + b"\xee" * 255
    send_udp(c.target, packet)
    return "255 parts, each refused"


def udp_deep_nesting(c):
    send_udp(c.target, b"\x04\x81\xa4Node" + b"\x91" * 2000 + b"\xc0")
    return "refused at depth 32"


def udp_huge_map(c):
    send_udp(c.target, b"\x04\xdf\xff\xff\xff\xff\xa4Node\xa1x")
    return "2^32-1 map entries declared in 14 bytes: refused"


def udp_huge_str(c):
    send_udp(c.target, b"\x04\x81\xa4Node\xdb\xff\xff\xff\xffab")
    return "4 GiB string declared: refused"


def udp_oversized_event(c):
    send_udp(c.target, user_event("probe", b"z" * 4000, 500))
    return "4000-byte event (limit 512) refused"


def udp_oversized_tags(c):
    send_udp(c.target, alive("ghost-meta", meta=b"\xff" + b"t" * 600))
    time.sleep(0.2)
    assert "ghost-meta" not in c.member_names()
    return "601-byte meta refused"


def udp_wrong_key(c):
    send_udp(c.target, ping(), key=WRONG_KEY, times=5)
    return "dropped (no key decrypts it)"


def udp_plaintext(c):
    send_udp(c.target, ping(), key=None, times=5)
    return "dropped (encryption required)"


def udp_replay(c):
    marker = "replay-%d" % time.monotonic_ns()
    sealed = SEAL.udp(KEY, user_event("probe", marker.encode(), 100000))
    send_udp(c.target, None, sealed=sealed, times=50)
    assert wait_until(lambda: all(marker in open(a.events).read() for a in c.agents), 10), "replayed event lost"
    time.sleep(0.5)
    counts = [open(a.events).read().count(marker) for a in c.agents]
    assert counts == [1, 1, 1], "handlers ran %s times" % counts
    return "accepted as memberlist does (no replay window); Serf's event buffer dedups: handlers ran once"


# ---------------------------------------------------------------- TCP cases
def tcp_push_pull_nodes(c):
    return expect_closed(tcp_exchange(c.target, stream(push_pull_header(1 << 31, 0))), "2^31 nodes")


def tcp_push_pull_user_state(c):
    return expect_closed(tcp_exchange(c.target, stream(push_pull_header(0, 1 << 31))), "2^31 user state")


def tcp_push_pull_user_state_cap(c):
    return expect_closed(tcp_exchange(c.target, stream(push_pull_header(0, (20 << 20) + 1))), "20 MiB + 1")


def tcp_push_pull_negative(c):
    return expect_closed(tcp_exchange(c.target, stream(push_pull_header(-1, -1))), "negative counts")


def tcp_user_msg_negative(c):
    return expect_closed(tcp_exchange(c.target, stream(b"\x08" + mp({"UserMsgLen": -1}))), "UserMsgLen -1")


def tcp_user_msg_huge(c):
    return expect_closed(tcp_exchange(c.target, stream(b"\x08" + mp({"UserMsgLen": 1 << 40}))), "UserMsgLen 2^40")


def tcp_empty_decompressed(c):
    return expect_closed(tcp_exchange(c.target, stream(compress_msg(lzw(b"")))), "empty decompressed")


def tcp_lzw_bomb(c):
    bomb = compress_msg(lzw_run(0x06, 16 << 20))
    return expect_closed(tcp_exchange(c.target, stream(bomb)), "bomb") + ", %d bytes -> 16 MiB cut at 10 MiB" % len(
        bomb)


def tcp_short_vsn_push_pull(c):
    body = push_pull_header(1, 0) + node_state("ghost-pp", vsn=b"\x01")
    tcp_exchange(c.target, stream(body))
    assert "ghost-pp" not in c.member_names()
    return "entry refused, the exchange answered"


def tcp_wrong_key(c):
    reply, closed = tcp_exchange(c.target, stream(push_pull_header(0, 0), key=WRONG_KEY))
    assert closed
    return "err reply (%d bytes), closed" % len(reply)


def tcp_plaintext(c):
    reply, closed = tcp_exchange(c.target, push_pull_header(0, 0))
    assert closed
    return "err reply (%d bytes), closed" % len(reply)


def tcp_envelope_too_long(c):
    return expect_closed(tcp_exchange(c.target, b"\x0a\xff\xff\xff\xff" + b"\x01" * 64), "4 GiB envelope")


def tcp_truncated(c):
    data = stream(push_pull_header(0, 0))
    return expect_closed(tcp_exchange(c.target, data[: len(data) // 2]), "truncated")


def tcp_slowloris(c):
    socks = []
    try:
        for i in range(300):
            src = NET.replace(".0.", ".2.") + str(1 + i % 30)
            try:
                socks.append(socket.create_connection((c.target.ip, 7946), timeout=2, source_address=(src, 0)))
            except OSError:
                pass
        # While they sit there: the cluster works, a push/pull through h1 works.
        assert c.deliver_event("slowloris-during"), "no user event while 300 connections idled"
        joiner = Rpc(c.agents[1].ip).login()
        h, body = joiner.call("join", {"Existing": [c.target.ip], "Replay": False}, has_reply_body=True)
        joiner.close()
        assert h and not h.get("Error") and body["Num"] == 1, (h, body)
        closed = sum(1 for s in socks if _peer_closed(s))
        return "%d of 300 connected; all closed by the agent within 3 s: %d; join via h1 worked" % (len(socks),
                                                                                                    closed)
    finally:
        for s in socks:
            s.close()


def _peer_closed(s, wait=3.0):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


# ---------------------------------------------------------------- RPC cases
def rpc_before_handshake(c):
    r = Rpc(c.target.ip)
    h, _ = r.call("members")
    closed = r.closed_by_peer()
    r.close()
    assert h and h["Error"] == "Handshake required" and closed, h
    return "'Handshake required', closed"


def rpc_without_auth(c):
    r = Rpc(c.target.ip)
    r.call("handshake", {"Version": 1})
    h, _ = r.call("members")
    r.close()
    assert h and h["Error"] == "Authentication required", h
    return "'Authentication required'"


def rpc_wrong_token(c):
    r = Rpc(c.target.ip)
    r.call("handshake", {"Version": 1})
    h, _ = r.call("auth", {"AuthKey": TOKEN + "x"})
    r.close()
    assert h and h["Error"] == "Invalid authentication token", h
    return "'Invalid authentication token'"


def rpc_huge_request(c):
    r = Rpc(c.target.ip).login()
    # An event whose Payload declares 2 MiB, 1.5 MiB of it sent.
    r.seq += 1
    head = mp({"Command": "event", "Seq": r.seq}, rpc=True) + b"\x83\xa8Coalesce\xc2\xa4Name\xa1x\xa7Payload"
    try:
        r.sock.sendall(head + b"\xc6" + (2 << 20).to_bytes(4, "big") + b"p" * (3 << 19))
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed = r.closed_by_peer()
    r.close()
    assert closed
    return "closed past the 1 MiB request limit"


def _cpu_seconds(agent):
    with open("/proc/%d/stat" % agent.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rpc_trickle(c):
    """An event request whose body holds 65,000 small values and then a
    string trickled in 128-byte pieces up to the 1 MiB limit: the agent
    must not re-walk the values buffered so far on every read (quadratic),
    and must close the connection at the limit."""
    r = Rpc(c.target.ip).login()
    r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r.seq += 1
    head = (mp({"Command": "event", "Seq": r.seq}, rpc=True) + b"\x83\xa4Junk\xdc" + (65000).to_bytes(2, "big") +
            b"\x01" * 65000 + b"\xa4Name\xa1x\xa7Payload\xdb" + (2 << 20).to_bytes(4, "big"))
    cpu0, t0 = _cpu_seconds(c.target), time.monotonic()
    sent = 0
    try:
        r.sock.sendall(head)
        sent = len(head)
        chunk = b"p" * 128
        while sent < (1 << 20) + 4096:
            r.sock.sendall(chunk)
            sent += len(chunk)
            time.sleep(0.0002)  # one read per piece, as a slow link delivers it
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed = r.closed_by_peer()
    r.close()
    wall, cpu = time.monotonic() - t0, _cpu_seconds(c.target) - cpu0
    assert closed, "the 1 MiB request stayed open"
    assert cpu < 0.4, "the agent spent %.2f s of CPU on %d trickled bytes (%.1f s)" % (cpu, sent, wall)
    return "closed at 1 MiB; %.2f s agent CPU for %d KiB sent in 128-byte pieces over %.1f s" % (cpu, sent >> 10,
                                                                                              wall)


def rpc_deep_nesting(c):
    r = Rpc(c.target.ip)
    r.sock.sendall(b"\x91" * 100 + b"\xc0")
    closed = r.closed_by_peer()
    r.close()
    assert closed
    return "closed (nesting > 32)"


def rpc_bad_body(c):
    r = Rpc(c.target.ip).login()
    r.send("event", {"Coalesce": "yes", "Name": 7, "Payload": [1, 2]})
    closed = r.closed_by_peer()
    r.close()
    assert closed
    return "closed (undecodable body)"


def rpc_oversized_event(c):
    r = Rpc(c.target.ip).login()
    h, _ = r.call("event", {"Coalesce": False, "Name": "big", "Payload": b"x" * 600})
    r.close()
    want = "user event exceeds configured limit of 512 bytes before encoding"
    assert h and h["Error"] == want, h
    return "'%s' (Serf's text)" % want


def rpc_500_clients(c):
    socks, served, refused = [], 0, 0
    try:
        for i in range(500):
            src = NET.replace(".0.", ".1.") + str(10 + i % 50)
            r = Rpc(c.target.ip, source=src)
            r.send("handshake", {"Version": 1})
            r.send("auth", {"AuthKey": TOKEN})
            r.send("members")
            socks.append(r)
        for r in socks:
            r.sock.settimeout(5)
            try:
                got = [r.read() for _ in range(4)]
            except (ConnectionResetError, socket.timeout):
                got = [None]
            if None in got:
                refused += 1
            else:
                served += 1
    finally:
        for r in socks:
            r.close()
    assert served >= 200, "only %d of 500 served" % served
    assert served + refused == 500
    return "%d served at once, %d refused at the 256-client table" % (served, refused)


def rpc_monitor_never_reads(c):
    lazy = Rpc(c.target.ip)
    lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.login()
    lazy.send("monitor", {"LogLevel": "debug"})
    lazy.send("stream", {"Type": "user"})
    sender = Rpc(c.target.ip).login()
    stop = threading.Event()
    sent = 0

    def drain():
        sender.sock.settimeout(0.2)
        while not stop.is_set():
            try:
                if not sender.sock.recv(1 << 16):
                    return
            except (socket.timeout, OSError):
                pass

    t = threading.Thread(target=drain)
    t.start()
    before = c.target.metrics().get("chorus_rpc_clients_dropped_total", 0)
    try:
        payload = b"f" * 400
        batch = b"".join(mp({"Command": "event", "Seq": 1000 + i}, rpc=True) +
                         mp({"Coalesce": False, "Name": "flood", "Payload": payload}, rpc=True) for i in range(500))
        while sent < 40000 and c.target.metrics().get("chorus_rpc_clients_dropped_total", 0) == before:
            sender.sock.sendall(batch)
            sent += 500
    finally:
        stop.set()
        t.join()
        sender.close()
        lazy.close()
    return "dropped as too slow after %d events streamed to it" % sent


CASES = [
    # (name, transport, function, counters of which at least one must move)
    ("HCSEC LZW bomb", "udp", udp_lzw_bomb, [fault("udp", "over_limit")]),
    ("HCSEC empty decompressed buffer", "udp", udp_empty_decompressed, [fault("udp", "truncated")]),
    ("HCSEC short protocol-version array", "udp", udp_short_vsn, [refused("refused_fields")]),
    ("alive with 2-byte Addr, nil Vsn", "udp", udp_empty_vsn_and_addr, [refused("refused_fields")]),
    ("truncated compound", "udp", udp_truncated_compound, [fault("udp", "truncated")]),
    ("compound length table cut", "udp", udp_compound_table_cut, [fault("udp", "truncated")]),
    ("overlong compound (255 parts)", "udp", udp_overlong_compound, [fault("udp", "unknown_type")]),
    ("msgpack nested 2000 deep", "udp", udp_deep_nesting, [fault("udp", "over_limit"), fault("udp", "malformed")]),
    ("map declaring 2^32-1 entries", "udp", udp_huge_map, [fault("udp", "truncated"), fault("udp", "malformed")]),
    ("string declaring 4 GiB", "udp", udp_huge_str, [fault("udp", "truncated"), fault("udp", "malformed")]),
    ("user event over the size limit", "udp", udp_oversized_event, [refused("oversized")]),
    ("tags (meta) over 512 bytes", "udp", udp_oversized_tags, [refused("refused_fields")]),
    ("encrypted with the wrong key", "udp", udp_wrong_key, [fault("udp", "decrypt")]),
    ("plaintext to an encrypted agent", "udp", udp_plaintext, [fault("udp", "decrypt")]),
    ("replayed packet (50 x)", "udp", udp_replay, ['chorus_messages_received_total{type="user"}']),
    ("HCSEC push/pull 2^31 nodes", "tcp", tcp_push_pull_nodes, [fault("tcp", "over_limit")]),
    ("HCSEC push/pull 2^31 user state", "tcp", tcp_push_pull_user_state, [fault("tcp", "over_limit")]),
    ("push/pull user state 20 MiB + 1", "tcp", tcp_push_pull_user_state_cap, [fault("tcp", "over_limit")]),
    ("push/pull negative counts", "tcp", tcp_push_pull_negative, [fault("tcp", "malformed")]),
    ("HCSEC user message length -1", "tcp", tcp_user_msg_negative, [fault("tcp", "malformed")]),
    ("user message length 2^40", "tcp", tcp_user_msg_huge, [fault("tcp", "over_limit")]),
    ("HCSEC empty decompressed stream", "tcp", tcp_empty_decompressed, [fault("tcp", "truncated")]),
    ("LZW bomb stream (16 MiB)", "tcp", tcp_lzw_bomb, [fault("tcp", "over_limit")]),
    ("HCSEC push/pull entry with 1-byte Vsn", "tcp", tcp_short_vsn_push_pull, [refused("refused_fields")]),
    ("stream with the wrong key", "tcp", tcp_wrong_key, [fault("tcp", "decrypt")]),
    ("plaintext stream to an encrypted agent", "tcp", tcp_plaintext, [fault("tcp", "encryption")]),
    ("stream envelope declaring 4 GiB", "tcp", tcp_envelope_too_long, [fault("tcp", "over_limit")]),
    ("stream cut in the middle", "tcp", tcp_truncated, [fault("tcp", "truncated")]),
    ("slowloris: 300 idle connections", "tcp", tcp_slowloris,
     ['chorus_dropped_packets_total{reason="tcp_idle"}', 'chorus_dropped_packets_total{reason="tcp_over_limit"}',
      'chorus_dropped_packets_total{reason="tcp_source_limit"}',
      'chorus_dropped_packets_total{reason="tcp_evicted_idle"}']),
    ("command before handshake", "rpc", rpc_before_handshake, [rpc_refused("handshake_required")]),
    ("command without auth", "rpc", rpc_without_auth, [rpc_refused("auth_required")]),
    ("wrong auth token", "rpc", rpc_wrong_token, [rpc_refused("auth_failed")]),
    ("request over 1 MiB", "rpc", rpc_huge_request, [rpc_refused("too_large")]),
    ("65,000 values + a string trickled to 1 MiB", "rpc", rpc_trickle, [rpc_refused("too_large")]),
    ("msgpack nested 100 deep", "rpc", rpc_deep_nesting, [rpc_refused("undecodable")]),
    ("body of the wrong types", "rpc", rpc_bad_body, [rpc_refused("undecodable")]),
    ("event over 512 bytes", "rpc", rpc_oversized_event, []),
    ("500 concurrent clients", "rpc", rpc_500_clients, [rpc_refused("table_full")]),
    ("monitor+stream client that never reads", "rpc", rpc_monitor_never_reads, ["chorus_rpc_clients_dropped_total"]),
]
