#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, cut from the captured vectors.

usage: make_corpus.py VECTORS_DIR OUT_DIR

Writes OUT_DIR/<target>/<n> files (binary, generated at run time into the
build directory: nothing binary is committed), OUT_DIR/gossip.dict, a
libFuzzer dictionary of the msgpack keys and type bytes the protocol uses,
and OUT_DIR/<target>.dict for the text formats (snapshot, config JSON,
keyring file), whose tokens are words, not msgpack.
"""
import glob
import hashlib
import json
import os
import re
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Every RPC command's wire name (rpc::command_name), for fuzz_rpc_body seeds.
RPC_COMMANDS = ("handshake", "auth", "event", "force-leave", "join", "members", "members-filtered", "tags",
                "stream", "monitor", "stop", "leave", "query", "respond", "install-key", "use-key", "remove-key",
                "list-keys", "stats", "get-coordinate", "chorus-stats")


def walk(value):
    """Every (key, value) pair anywhere inside a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def lzw_buf(compress_message):
    """The LZW buffer inside 0x09 + msgpack {Algo, Buf} (str family only)."""
    m = compress_message
    i = m.find(b"\xa3Buf")
    if m[:1] != b"\x09" or i < 0:
        return None
    i += 4
    t = m[i]
    if 0xA0 <= t <= 0xBF:
        n, i = t & 0x1F, i + 1
    elif t == 0xDA:
        n, i = int.from_bytes(m[i + 1:i + 3], "big"), i + 3
    elif t == 0xDB:
        n, i = int.from_bytes(m[i + 1:i + 5], "big"), i + 5
    else:
        return None
    return m[i:i + n]


def rpc_body_seeds(path, out):
    """fuzz_rpc_body's input: the command name, a line break, the body."""
    for line in open(path):
        doc = json.loads(line)
        if doc.get("dir") == "client->agent" and doc.get("command") and "body_hex" in doc:
            out.add(doc["command"].encode() + b"\n" + bytes.fromhex(doc["body_hex"] or ""))
    for name in RPC_COMMANDS:
        out.add(name.encode() + b"\n")
        out.add(name.encode() + b"\n\x80")  # an empty map


def text_seeds(vectors, seeds, dicts):
    """Snapshot files, config JSON and keyring files, with their tokens."""
    snap = seeds["fuzz_snapshot"]
    for path in glob.glob(os.path.join(vectors, "agent", "snapshot-*.txt")):
        snap.add(open(path, "rb").read())
    snap.add(b"# comment\nalive: web 1 10.0.0.1:7946\nalive: v6 [::1]:7946\nnot-alive: web 1\nclock: 41\n"
             b"event-clock: 7\nquery-clock: 3\ncoordinate: {\"Vec\":[0.1,0,0,0,0,0,0,-2e-05],\"Error\":0.2,"
             b"\"Adjustment\":0.001,\"Height\":1e-05}\nleave\nalive: back 10.0.0.2:7946\r\nclock: 1")
    dicts["fuzz_snapshot"] = ["alive: ", "not-alive: ", "clock: ", "event-clock: ", "query-clock: ",
                              "coordinate: ", "leave", "\\x0a", '\\"Vec\\":[', '\\"Error\\":',
                              '\\"Adjustment\\":', '\\"Height\\":']

    conf = seeds["fuzz_config_json"]
    for path in glob.glob(os.path.join(REPO, "packaging", "*.json")):
        conf.add(open(path, "rb").read())
    keys = sorted(set(re.findall(r'\{"([a-z_]+)",', open(os.path.join(REPO, "src/agent/config.cpp")).read())))
    conf.add(json.dumps({"node_name": "n1", "tags": {"role": "web"}, "encrypt_key": "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=",
                         "protocol": 4, "reconnect_timeout": "1h30m", "event_handlers": ["user:deploy=/bin/true"],
                         "gossip_tcp_max_inbound": 64, "enable_compression": False, "retry_max_attempts": 3}).encode())
    dicts["fuzz_config_json"] = ['\\"%s\\":' % k for k in keys] + ["true", "false", "null", "{", "[", "1.5h"]

    ring = seeds["fuzz_keyring_file"]
    found = re.findall(r"KEY\d=(\S+)", open(os.path.join(vectors, "keys.txt")).read())
    ring.add(json.dumps(found).encode())
    ring.add(json.dumps(found[:1]).encode() + b"\n")
    ring.add(b'["AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]')
    dicts["fuzz_keyring_file"] = ["[", "]", "\\\"", "==", "="]


def rpc_seeds(path, out, keys):
    """RPC client streams: each request (header + body), each session's
    requests concatenated, and the Go CLI's whole streams; the replies too
    (the CLI's decoders get the same input)."""
    sessions = {}
    for line in open(path):
        doc = json.loads(line)
        for part in ("decoded_header", "decoded_body"):
            if isinstance(doc.get(part), dict):
                keys.update(k for k in doc[part] if k[:1].isupper())
        if doc.get("command"):
            keys.add(doc["command"])  # command names are str values on the wire
        for k in ("client_to_server_hex", "server_to_client_hex", "sent_hex", "received_hex"):
            if doc.get(k):
                out.add(bytes.fromhex(doc[k]))
        if "header_hex" in doc:
            msg = bytes.fromhex(doc["header_hex"]) + bytes.fromhex(doc.get("body_hex") or "")
            out.add(msg)
            if doc.get("dir") == "client->agent":
                sessions[doc.get("session")] = sessions.get(doc.get("session"), b"") + msg
    out.update(s for s in sessions.values() if s)


def main():
    vectors, out = sys.argv[1], sys.argv[2]
    seeds = {"fuzz_udp_packet": set(), "fuzz_tcp_stream": set(), "fuzz_serf_message": set(), "fuzz_lzw": set(),
             "fuzz_rpc_request": set(), "fuzz_rpc_body": set(), "fuzz_snapshot": set(), "fuzz_config_json": set(),
             "fuzz_keyring_file": set()}
    keys = set()
    dicts = {}
    text_seeds(vectors, seeds, dicts)
    for path in sorted(glob.glob(os.path.join(vectors, "*.jsonl"))):
        name = os.path.basename(path)
        if name.startswith("rpc-"):
            rpc_seeds(path, seeds["fuzz_rpc_request"], keys)
            rpc_body_seeds(path, seeds["fuzz_rpc_body"])
            continue
        if name.startswith("vivaldi-"):
            continue
        for line in open(path):
            doc = json.loads(line)
            for k, v in walk(doc):
                if isinstance(v, dict):
                    keys.update(x for x in v.keys() if x[:1].isupper() and "_" not in x)
                if not isinstance(v, str) or not k.endswith("hex"):
                    continue
                try:
                    b = bytes.fromhex(v)
                except ValueError:
                    continue
                if not b:
                    continue
                if k in ("packet_hex", "plaintext_hex", "message_hex"):
                    seeds["fuzz_udp_packet"].add(b)
                elif k in ("client_to_server_hex", "server_to_client_hex", "decompressed_hex"):
                    seeds["fuzz_tcp_stream"].add(b)
                    if k == "decompressed_hex":
                        seeds["fuzz_udp_packet"].add(b)
                elif k in ("serf_message_hex", "user_state_hex"):
                    seeds["fuzz_serf_message"].add(b)
                elif k == "lzw_hex":
                    seeds["fuzz_lzw"].add(b)
                elif k == "hex" and b[0] == 0x09:
                    buf = lzw_buf(b)
                    if buf:
                        seeds["fuzz_lzw"].add(buf)
                elif k == "hex" and b[0] in (0x01, 0xFF, 0x06, 0x07, 0x08):
                    # ack coordinate payloads, Meta tags, internal query payloads
                    seeds["fuzz_serf_message"].add(b)
                    if b[0] in (0x06, 0x07, 0x08):
                        seeds["fuzz_udp_packet"].add(b)
    for target, items in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for b in items:
            with open(os.path.join(d, hashlib.sha1(b).hexdigest()), "wb") as f:
                f.write(b)
        print(f"{target}: {len(items)} seeds")
    with open(os.path.join(out, "gossip.dict"), "w") as f:
        for k in sorted(keys):
            # fixstr header + key, as every struct key appears on the wire
            if len(k) < 32:
                f.write('"\\x%02x%s"\n' % (0xA0 | len(k), k))
        for t in ("\\x09\\x82\\xa4Algo\\x00\\xa3Buf", "\\x0c", "\\x07", "\\x0a\\x00\\x00", "\\xda\\x00", "\\xdc\\x02\\x00"):
            f.write('"%s"\n' % t)
    for target, tokens in dicts.items():
        with open(os.path.join(out, target + ".dict"), "w") as f:
            f.writelines('"%s"\n' % t for t in tokens)


if __name__ == "__main__":
    main()
