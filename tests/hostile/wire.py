"""Byte builders for the hostile-input suite: go-msgpack (gossip and RPC
flavours), Go-compatible LZW (including a run generator for bombs) and
memberlist's AES-256-GCM envelope through libsodium (the library chorus
links; Python's stdlib has no AES). Written from
../shared/protocol/memberlist.md sections 2, 7 and 8. RPC replies are read
with bench/cluster/rpc.py's decoder (cluster.py)."""
import ctypes
import ctypes.util
import os
import struct


# --------------------------------------------------------------------------
# msgpack writer. Dicts keep the caller's key order (pass them sorted, as
# go-msgpack writes structs). Gossip: strings and byte slices in the raw
# family; rpc: str8 for strings, bin for bytes.
def mp(v, rpc=False):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v >= 0:
            if v <= 0x7F:
                return bytes([v])
            for t, n in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
                if v < 1 << (8 * n):
                    return bytes([t]) + v.to_bytes(n, "big")
        if v >= -32:
            return struct.pack(">b", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        return _raw(v.encode(), rpc, is_str=True)
    if isinstance(v, (bytes, bytearray)):
        return _raw(bytes(v), rpc, is_str=False)
    if isinstance(v, list):
        return _head(len(v), 0x90, 0xDC, 0xDD) + b"".join(mp(x, rpc) for x in v)
    if isinstance(v, dict):
        return _head(len(v), 0x80, 0xDE, 0xDF) + b"".join(mp(k, rpc) + mp(x, rpc) for k, x in v.items())
    raise TypeError(type(v))


def _head(n, fix, t16, t32):
    if n < 16:
        return bytes([fix | n])
    return bytes([t16]) + n.to_bytes(2, "big") if n <= 0xFFFF else bytes([t32]) + n.to_bytes(4, "big")


def _raw(b, rpc, is_str):
    n = len(b)
    if rpc and not is_str:
        if n <= 0xFF:
            return b"\xc4" + bytes([n]) + b
        return (b"\xc5" + n.to_bytes(2, "big") if n <= 0xFFFF else b"\xc6" + n.to_bytes(4, "big")) + b
    if n <= 31:
        return bytes([0xA0 | n]) + b
    if rpc and n <= 0xFF:
        return b"\xd9" + bytes([n]) + b
    return (b"\xda" + n.to_bytes(2, "big") if n <= 0xFFFF else b"\xdb" + n.to_bytes(4, "big")) + b


# --------------------------------------------------------------------------
# LZW the way Go's compress/lzw writes it (LSB, literal width 8): CLEAR first,
# widths 9..12, CLEAR again when the next code would be 4095.
class _bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, code, width):
        self.acc |= code << self.n
        self.n += width
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def flush(self):
        if self.n:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def lzw(data):
    w, width, nxt, table = _bits(), 9, 257, {}
    w.put(256, width)

    def advance():
        nonlocal width, nxt
        nxt += 1
        if nxt == 1 << width:
            width += 1
        if nxt == 4095:
            w.put(256, width)
            width, nxt = 9, 257
            table.clear()
            return False
        return True

    if data:
        code = data[0]
        for byte in data[1:]:
            key = (code << 8) | byte
            if key in table:
                code = table[key]
                continue
            w.put(code, width)
            code = byte
            if advance():
                table[key] = nxt
        w.put(code, width)
        advance()
    w.put(257, width)
    return w.flush()


def lzw_run(byte, n):
    """The same encoder's output for `n` copies of `byte`, computed per code
    rather than per byte: a 10 MiB run costs a few thousand steps."""
    w, width, nxt, longest, left = _bits(), 9, 257, 1, n
    w.put(256, width)

    def advance():
        nonlocal width, nxt, longest
        nxt += 1
        if nxt == 1 << width:
            width += 1
        if nxt == 4095:
            w.put(256, width)
            width, nxt, longest = 9, 257, 1
            return False
        return True

    while left > 0:
        run = min(longest, left)
        w.put(byte if run == 1 else 258 + run - 2, width)
        left -= run
        if advance() and left > 0 and run == longest:
            longest += 1
    w.put(257, width)
    return w.flush()


def compress_msg(buf):
    """0x09 | {Algo: 0, Buf: buf}: memberlist's compress message."""
    return b"\x09" + mp({"Algo": 0, "Buf": buf})


# --------------------------------------------------------------------------
# AES-256-GCM envelope (version 1) through libsodium.
class Sealer:
    def __init__(self):
        name = ctypes.util.find_library("sodium")
        if not name:
            raise RuntimeError("libsodium not found")
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0 or not self.lib.crypto_aead_aes256gcm_is_available():
            raise RuntimeError("AES-256-GCM unavailable")

    def envelope(self, key, plain, aad=b""):
        nonce = os.urandom(12)
        out = ctypes.create_string_buffer(len(plain) + 16)
        n = ctypes.c_ulonglong(0)
        rc = self.lib.crypto_aead_aes256gcm_encrypt(
            out, ctypes.byref(n), plain, ctypes.c_ulonglong(len(plain)), aad, ctypes.c_ulonglong(len(aad)),
            None, nonce, key)
        if rc != 0:
            raise RuntimeError("encrypt failed")
        return b"\x01" + nonce + out.raw[: n.value]

    def udp(self, key, plain):
        return self.envelope(key, plain)

    def stream(self, key, plain):
        header = b"\x0a" + struct.pack(">I", 1 + 12 + len(plain) + 16)
        return header + self.envelope(key, plain, header)
