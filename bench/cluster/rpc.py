"""A small client of Serf's agent RPC (../../../shared/protocol/serf-rpc.md),
standard library only, so the benchmark talks to chorus and serf agents the
same way and without spawning a CLI process per request.

msgpack here is the RPC's modern flavour: str8 and bin types, maps with string
keys. Only what the RPC uses is encoded; everything is decoded.
"""

import socket
import struct
import time


class NeedMore(Exception):
    """The buffer ends inside an object."""


def pack(obj):
    out = bytearray()
    _pack(obj, out)
    return bytes(out)


def _pack(o, out):
    if o is None:
        out.append(0xC0)
    elif o is True:
        out.append(0xC3)
    elif o is False:
        out.append(0xC2)
    elif isinstance(o, int):
        if 0 <= o < 0x80:
            out.append(o)
        elif -32 <= o < 0:
            out.append(o & 0xFF)
        elif 0 <= o <= 0xFF:
            out += bytes((0xCC, o))
        elif 0 <= o <= 0xFFFF:
            out += b"\xcd" + struct.pack(">H", o)
        elif 0 <= o <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", o)
        elif o >= 0:
            out += b"\xcf" + struct.pack(">Q", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode()
        n = len(b)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += bytes((0xD9, n))
        elif n <= 0xFFFF:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += b
    elif isinstance(o, (bytes, bytearray)):
        n = len(o)
        if n <= 0xFF:
            out += bytes((0xC4, n))
        elif n <= 0xFFFF:
            out += b"\xc5" + struct.pack(">H", n)
        else:
            out += b"\xc6" + struct.pack(">I", n)
        out += o
    elif isinstance(o, (list, tuple)):
        n = len(o)
        if n < 16:
            out.append(0x90 | n)
        elif n <= 0xFFFF:
            out += b"\xdc" + struct.pack(">H", n)
        else:
            out += b"\xdd" + struct.pack(">I", n)
        for e in o:
            _pack(e, out)
    elif isinstance(o, dict):
        n = len(o)
        if n < 16:
            out.append(0x80 | n)
        elif n <= 0xFFFF:
            out += b"\xde" + struct.pack(">H", n)
        else:
            out += b"\xdf" + struct.pack(">I", n)
        for k in sorted(o):
            _pack(k, out)
            _pack(o[k], out)
    else:
        raise TypeError("cannot pack %r" % (o,))


def unpack(buf, pos=0):
    """Returns (object, next position); raises NeedMore at the buffer's end."""
    if pos >= len(buf):
        raise NeedMore()
    b = buf[pos]
    pos += 1

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            raise NeedMore()
        v = buf[pos:pos + n]
        pos += n
        return v

    def seq(n):
        nonlocal pos
        items = []
        for _ in range(n):
            v, pos = unpack(buf, pos)
            items.append(v)
        return items

    def mapping(n):
        nonlocal pos
        d = {}
        for _ in range(n):
            k, pos = unpack(buf, pos)
            v, pos = unpack(buf, pos)
            d[k if not isinstance(k, (bytes, bytearray)) else bytes(k).decode("utf-8", "replace")] = v
        return d

    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0x80 <= b <= 0x8F:
        return mapping(b & 0x0F), pos
    if 0x90 <= b <= 0x9F:
        return seq(b & 0x0F), pos
    if 0xA0 <= b <= 0xBF:
        return bytes(take(b & 0x1F)).decode("utf-8", "surrogateescape"), pos
    if b == 0xC0:
        return None, pos
    if b == 0xC2:
        return False, pos
    if b == 0xC3:
        return True, pos
    if b in (0xC4, 0xC5, 0xC6):
        n = struct.unpack(">" + {0xC4: "B", 0xC5: "H", 0xC6: "I"}[b], take({0xC4: 1, 0xC5: 2, 0xC6: 4}[b]))[0]
        return bytes(take(n)), pos
    if b in (0xC7, 0xC8, 0xC9):
        n = struct.unpack(">" + {0xC7: "B", 0xC8: "H", 0xC9: "I"}[b], take({0xC7: 1, 0xC8: 2, 0xC9: 4}[b]))[0]
        take(1)
        return bytes(take(n)), pos
    if b == 0xCA:
        return struct.unpack(">f", take(4))[0], pos
    if b == 0xCB:
        return struct.unpack(">d", take(8))[0], pos
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if b in ints:
        fmt = ints[b]
        return struct.unpack(fmt, take(struct.calcsize(fmt)))[0], pos
    if 0xD4 <= b <= 0xD8:
        take(1)
        return bytes(take(1 << (b - 0xD4))), pos
    if b in (0xD9, 0xDA, 0xDB):
        n = struct.unpack(">" + {0xD9: "B", 0xDA: "H", 0xDB: "I"}[b], take({0xD9: 1, 0xDA: 2, 0xDB: 4}[b]))[0]
        return bytes(take(n)).decode("utf-8", "surrogateescape"), pos
    if b in (0xDC, 0xDD):
        n = struct.unpack(">H" if b == 0xDC else ">I", take(2 if b == 0xDC else 4))[0]
        return seq(n), pos
    if b in (0xDE, 0xDF):
        n = struct.unpack(">H" if b == 0xDE else ">I", take(2 if b == 0xDE else 4))[0]
        return mapping(n), pos
    raise ValueError("bad msgpack byte 0x%02x" % b)


class RpcError(Exception):
    pass


# Commands whose successful reply carries a body (serf-rpc.md section 4).
_REPLY_BODY = {"join", "members", "members-filtered", "stats", "get-coordinate", "list-keys"}


class Client:
    """One RPC connection, handshake done. Not thread-safe: one user at a time."""

    def __init__(self, addr, timeout=10.0):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.seq = 0
        self.call("handshake", {"Version": 1})

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def read_obj(self, deadline=None):
        while True:
            try:
                obj, used = unpack(self.buf)
                del self.buf[:used]
                return obj
            except NeedMore:
                pass
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout("rpc read timed out")
                self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RpcError("connection closed by the agent")
            self.buf += chunk

    def send(self, command, body=None):
        self.seq += 1
        data = pack({"Command": command, "Seq": self.seq})
        if body is not None:
            data += pack(body)
        self.sock.sendall(data)
        return self.seq

    def finish(self, command):
        """Reads the reply to the last request sent with send()."""
        head = self.read_obj()
        err = head.get("Error", "")
        has_body = command in _REPLY_BODY and err not in ("Handshake required", "Authentication required",
                                                          "Unsupported command")
        body = self.read_obj() if has_body else None
        if err:
            raise RpcError("%s: %s" % (command, err))
        return body

    def call(self, command, body=None):
        self.send(command, body)
        return self.finish(command)

    def query(self, name, payload=b"", timeout_s=10.0, want=None):
        """Runs a query; returns [(monotonic time, From)] of the responses,
        stopping early once `want` responses arrived."""
        seq = self.send("query", {"FilterNodes": None, "FilterTags": None, "Name": name, "Payload": payload,
                                  "RelayFactor": 0, "RequestAck": False, "Timeout": int(timeout_s * 1e9)})
        deadline = time.monotonic() + timeout_s + 5
        head = self.read_obj(deadline)
        if head.get("Error"):
            raise RpcError("query: " + head["Error"])
        got = []
        while want is None or len(got) < want:
            head = self.read_obj(deadline)
            if head.get("Seq") != seq:
                continue
            rec = self.read_obj(deadline)
            if rec.get("Type") == "done" or not rec.get("From"):
                break
            if rec.get("Type") == "response":
                got.append((time.monotonic(), rec["From"]))
        return got
