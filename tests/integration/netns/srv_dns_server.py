#!/usr/bin/env python3
"""A tiny authoritative DNS server for the SRV join test (netns_srv_test.cpp).

    srv_dns_server.py ADDRESS PORT ZONE_FILE

Answers UDP queries from ZONE_FILE, read afresh for every query so the test
can add records while agents run. Zone lines (names without trailing dot):

    NAME SRV PRIORITY WEIGHT PORT TARGET
    NAME A IPV4
    noglue TARGET      # answer SRV without this target's A in the additional section

A name with records but none of the asked type gets an empty NOERROR answer
(NODATA); an unknown name gets NXDOMAIN. Python 3 standard library only.
"""
import socket
import struct
import sys


def read_zone(path):
    records, noglue = [], set()
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) == 2 and words[0] == "noglue":
                    noglue.add(words[1].lower())
                elif len(words) >= 3:
                    records.append((words[0].lower(), words[1].upper(), words[2:]))
    except OSError:
        pass
    return records, noglue


def encode_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_question(packet):
    labels, at = [], 12
    while packet[at] != 0:
        n = packet[at]
        labels.append(packet[at + 1:at + 1 + n].decode("ascii", "replace"))
        at += 1 + n
    qtype, _ = struct.unpack("!HH", packet[at + 1:at + 5])
    return ".".join(labels), qtype, packet[12:at + 5]


def rr(name, rtype, data):
    return encode_name(name) + struct.pack("!HHIH", rtype, 1, 5, len(data)) + data


def answer(packet, zone_path):
    qid, _, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        return None
    qname, qtype, question = read_question(packet)
    records, noglue = read_zone(zone_path)
    mine = [r for r in records if r[0] == qname.lower()]
    answers, additional = [], []
    for name, rtype, data in mine:
        if rtype == "SRV" and qtype == 33:
            prio, weight, port, target = int(data[0]), int(data[1]), int(data[2]), data[3]
            answers.append(rr(qname, 33, struct.pack("!HHH", prio, weight, port) + encode_name(target)))
            if target.lower() not in noglue:
                for n, t, d in records:
                    if n == target.lower() and t == "A":
                        additional.append(rr(target, 1, socket.inet_aton(d[0])))
        elif rtype == "A" and qtype == 1:
            answers.append(rr(qname, 1, socket.inet_aton(data[0])))
    rcode = 0 if mine else 3
    flags = 0x8400 | 0x0100 | rcode  # QR AA RD (as asked) and the code
    header = struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, len(additional))
    return header + question + b"".join(answers) + b"".join(additional)


def main():
    address, port, zone_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    print("serving", address, port, flush=True)
    while True:
        packet, peer = sock.recvfrom(4096)
        try:
            reply = answer(packet, zone_path)
        except (IndexError, struct.error, ValueError):
            reply = None
        if reply:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
