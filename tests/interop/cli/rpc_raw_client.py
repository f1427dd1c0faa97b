#!/usr/bin/env python3
"""Speaks Serf's agent RPC (serf-rpc.md) over a raw TCP socket with a tiny
msgpack codec written here from the spec, to check an agent's server side
independently of chorus's own client. Run against `serf agent` (proves the
script) and against `chorus agent`: every address comes from the command line.

usage: rpc_raw_client.py RPC_ADDR NODE_NAME [AUTH_RPC_ADDR AUTH_TOKEN]
Checks: session rules, members-filtered, stream + stop, unknown command,
malformed requests (closed without a reply, agent keeps serving), and with
the second agent: auth required before auth, wrong token, right token.
Exit status 0 when every check passed; failures are printed.
"""
import socket
import struct
import sys
import time

# --------------------------------------------------------------------------
# msgpack, the RPC dialect: str8 for 32..255-byte strings, bin for bytes.


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v <= 0x7F:
            return bytes([v])
        if 0 <= v <= 0xFF:
            return b"\xcc" + struct.pack(">B", v)
        if 0 <= v <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", v)
        if 0 <= v <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", v)
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        if len(b) <= 0xFF:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, (bytes, bytearray)):
        if len(v) <= 0xFF:
            return b"\xc4" + bytes([len(v)]) + bytes(v)
        return b"\xc5" + struct.pack(">H", len(v)) + bytes(v)
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)


class Incomplete(Exception):
    pass


def unpack(buf, pos=0):
    """Returns (value, new_pos); raises Incomplete when buf ends early."""

    def need(n):
        if pos + n > len(buf):
            raise Incomplete()

    need(1)
    t = buf[pos]
    pos += 1
    if t <= 0x7F:
        return t, pos
    if t >= 0xE0:
        return t - 256, pos
    if 0x80 <= t <= 0x8F or t in (0xDE, 0xDF):
        if t <= 0x8F:
            n = t & 0x0F
        else:
            w = 2 if t == 0xDE else 4
            need(w)
            n = int.from_bytes(buf[pos : pos + w], "big")
            pos += w
        d = {}
        for _ in range(n):
            k, pos = unpack(buf, pos)
            v, pos = unpack(buf, pos)
            d[k] = v
        return d, pos
    if 0x90 <= t <= 0x9F or t in (0xDC, 0xDD):
        if t <= 0x9F:
            n = t & 0x0F
        else:
            w = 2 if t == 0xDC else 4
            need(w)
            n = int.from_bytes(buf[pos : pos + w], "big")
            pos += w
        a = []
        for _ in range(n):
            v, pos = unpack(buf, pos)
            a.append(v)
        return a, pos
    if 0xA0 <= t <= 0xBF or t in (0xD9, 0xDA, 0xDB):
        if t <= 0xBF:
            n = t & 0x1F
        else:
            w = {0xD9: 1, 0xDA: 2, 0xDB: 4}[t]
            need(w)
            n = int.from_bytes(buf[pos : pos + w], "big")
            pos += w
        need(n)
        return buf[pos : pos + n].decode("utf-8", "replace"), pos + n
    if t in (0xC4, 0xC5, 0xC6):
        w = {0xC4: 1, 0xC5: 2, 0xC6: 4}[t]
        need(w)
        n = int.from_bytes(buf[pos : pos + w], "big")
        pos += w
        need(n)
        return bytes(buf[pos : pos + n]), pos + n
    if t == 0xC0:
        return None, pos
    if t == 0xC2:
        return False, pos
    if t == 0xC3:
        return True, pos
    if t == 0xCB:
        need(8)
        return struct.unpack(">d", buf[pos : pos + 8])[0], pos + 8
    if t == 0xCA:
        need(4)
        return struct.unpack(">f", buf[pos : pos + 4])[0], pos + 4
    if t in (0xCC, 0xCD, 0xCE, 0xCF):
        w = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[t]
        need(w)
        return int.from_bytes(buf[pos : pos + w], "big"), pos + w
    if t in (0xD0, 0xD1, 0xD2, 0xD3):
        w = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}[t]
        need(w)
        return int.from_bytes(buf[pos : pos + w], "big", signed=True), pos + w
    raise ValueError("unsupported msgpack type 0x%02x" % t)


# --------------------------------------------------------------------------


class Conn:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.s = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        self.buf = b""
        self.seq = 0

    def send(self, command, body=None, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        data = pack({"Command": command, "Seq": seq})
        if body is not None:
            data += pack(body)
        self.s.sendall(data)
        return seq

    def read(self, timeout=10.0):
        """One msgpack object, or None when the agent closed the connection."""
        deadline = time.time() + timeout
        while True:
            try:
                v, pos = unpack(self.buf)
                self.buf = self.buf[pos:]
                return v
            except Incomplete:
                pass
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no reply within %.0fs" % timeout)
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                return None
            self.buf += d

    def closed(self, timeout=5.0):
        try:
            return self.read(timeout) is None
        except TimeoutError:
            return False


failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def handshake(c):
    c.send("handshake", {"Version": 1})
    return c.read()


def main():
    if len(sys.argv) not in (3, 5):
        print(__doc__)
        return 2
    addr, node = sys.argv[1], sys.argv[2]

    # 1. Any command before the handshake: "Handshake required", then closed.
    c = Conn(addr)
    c.send("members")
    h = c.read()
    check(h == {"Error": "Handshake required", "Seq": 1}, "members before handshake -> Handshake required")
    check(c.closed(), "connection closed after Handshake required")

    # 2. Version negotiation.
    c = Conn(addr)
    c.send("handshake", {"Version": 2})
    check(c.read() == {"Error": "Unsupported IPC version", "Seq": 1}, "handshake version 2 refused")
    check(handshake(c) == {"Error": "", "Seq": 2}, "handshake version 1 accepted")
    check(handshake(c) == {"Error": "Handshake already performed", "Seq": 3}, "second handshake refused")

    # 3. members-filtered: header, then a body with the one matching member.
    seq = c.send("members-filtered", {"Name": node, "Status": "alive", "Tags": {}})
    h = c.read()
    body = c.read()
    check(h == {"Error": "", "Seq": seq}, "members-filtered reply header")
    members = body.get("Members") if isinstance(body, dict) else None
    check(isinstance(members, list) and len(members) == 1 and members[0]["Name"] == node,
          "members-filtered returns exactly the named member")
    if members:
        m = members[0]
        check(isinstance(m["Addr"], bytes) and len(m["Addr"]) in (4, 16), "member Addr is a 4/16-byte bin")
        check(m["Status"] == "alive" and isinstance(m["Tags"], dict), "member Status and Tags")
        check(sorted(m.keys()) == ["Addr", "DelegateCur", "DelegateMax", "DelegateMin", "Name", "Port",
                                   "ProtocolCur", "ProtocolMax", "ProtocolMin", "Status", "Tags"],
              "member record has exactly Serf's keys")

    # 4. stream of user events; an event sent on the same connection shows up
    #    as a record carrying the stream's Seq; stop ends it.
    stream_seq = c.send("stream", {"Type": "user:rawev"})
    check(c.read() == {"Error": "", "Seq": stream_seq}, "stream acknowledged")
    ev_seq = c.send("event", {"Name": "rawev", "Payload": b"raw-payload", "Coalesce": False})
    got_reply = got_record = False
    deadline = time.time() + 15
    while time.time() < deadline and not (got_reply and got_record):
        h = c.read(max(0.1, deadline - time.time()))
        if h is None:
            break
        if h.get("Seq") == ev_seq:
            got_reply = h.get("Error") == ""
        elif h.get("Seq") == stream_seq:
            rec = c.read()
            if rec.get("Event") == "user" and rec.get("Name") == "rawev":
                got_record = rec.get("Payload") == b"raw-payload" and rec.get("Coalesce") is False
    check(got_reply, "event accepted while a stream is open")
    check(got_record, "stream delivered the user event record with its payload")
    stop_seq = c.send("stop", {"Stop": stream_seq})
    h = c.read()
    while h is not None and h.get("Seq") == stream_seq:  # a record already in flight
        c.read()
        h = c.read()
    check(h == {"Error": "", "Seq": stop_seq}, "stop acknowledged")

    # 5. Unknown command: "Unsupported command", then closed.
    seq = c.send("bogus-command")
    check(c.read() == {"Error": "Unsupported command", "Seq": seq}, "unknown command refused")
    check(c.closed(), "connection closed after Unsupported command")

    # 6. Malformed requests: the agent closes the connection without a
    #    reply (serf-rpc.md 3.5) and keeps serving everybody else.
    malformed = [
        ("not msgpack (0xc1)", b"\xc1\xc1"),
        ("header is not a map", pack(5)),
        ("Command is not a string", pack({"Command": 5, "Seq": 1})),
        ("Seq is not a number", pack({"Command": "handshake", "Seq": "x"}) + pack({"Version": 1})),
        ("handshake body is not a map", pack({"Command": "handshake", "Seq": 1}) + pack("notamap")),
        ("Version is not a number", pack({"Command": "handshake", "Seq": 1}) + pack({"Version": "one"})),
    ]
    for what, data in malformed:
        c = Conn(addr)
        c.s.sendall(data)
        check(c.closed(), "malformed (%s): closed without a reply" % what)
    for what, command, body in [("event Name as bin", "event", {"Coalesce": False, "Name": b"bin", "Payload": b""}),
                                ("stop Stop as a string", "stop", {"Stop": "x"}),
                                ("members-filtered Tags as a string", "members-filtered", {"Tags": "x"})]:
        c = Conn(addr)
        handshake(c)
        c.send(command, body)
        check(c.closed(), "malformed body (%s): closed without a reply" % what)
    c = Conn(addr)
    check(handshake(c) == {"Error": "", "Seq": 1}, "agent still answers after the malformed requests")

    # 7. Authentication (optional second agent with an RPC auth token).
    if len(sys.argv) == 5:
        auth_addr, token = sys.argv[3], sys.argv[4]
        c = Conn(auth_addr)
        check(handshake(c) == {"Error": "", "Seq": 1}, "auth agent: handshake")
        for command in ("members", "stats", "list-keys"):
            seq = c.send(command)
            check(c.read() == {"Error": "Authentication required", "Seq": seq},
                  "%s before auth refused, connection kept" % command)
        seq = c.send("auth", {"AuthKey": token + "-wrong"})
        check(c.read() == {"Error": "Invalid authentication token", "Seq": seq}, "wrong token refused")
        seq = c.send("members")
        check(c.read() == {"Error": "Authentication required", "Seq": seq}, "members after a wrong token refused")
        seq = c.send("auth", {"AuthKey": token})
        check(c.read() == {"Error": "", "Seq": seq}, "right token accepted")
        seq = c.send("members")
        h = c.read()
        body = c.read()
        check(h == {"Error": "", "Seq": seq} and isinstance(body.get("Members"), list),
              "members after auth returns the member list")
        # Commands with a body are refused too (on a fresh connection: what
        # the agent does with the unread body differs between agents).
        for command, body in (("event", {"Coalesce": False, "Name": "x", "Payload": b""}),
                              ("stream", {"Type": "*"}), ("members-filtered", {"Name": "", "Status": "", "Tags": {}})):
            c = Conn(auth_addr)
            handshake(c)
            seq = c.send(command, body)
            check(c.read() == {"Error": "Authentication required", "Seq": seq}, "%s before auth refused" % command)

    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
