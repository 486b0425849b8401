#!/usr/bin/env python3
"""A legacy peer of SEED-PROTOCOL.md, written from the document alone.

It shares no code with netkit: frames are built with struct and
zlib.crc32, as the document gives them. The e2e tests drive it against
netkit in both directions.

    legacy_peer.py recv DIR          receive one session into DIR; print the
                                     port first, then one line per item
    legacy_peer.py send HOST PORT F FILE...
                                     send the files at fragment size F

The receiver drops what it does not understand (an extended HELLO among
it) without answering, as the legacy protocol does.
"""
import os
import socket
import struct
import sys
import zlib

INF, ACK, NACK, DAT, KPA, FIN = range(6)
TIMEOUT = 10.0


def frame(typ, seq=0, count=0, size=0, data=b"", crc=True):
    head = seq.to_bytes(3, "big") + count.to_bytes(3, "big") + struct.pack(">HB", size, typ)
    c = zlib.crc32(head + data) & 0xFFFFFFFF if crc else 0
    return head + struct.pack(">I", c) + data


def parse(b):
    """Returns (typ, seq, count, size, data, crc_ok) or None."""
    if len(b) < 13 or len(b) > 1458:
        return None
    seq = int.from_bytes(b[0:3], "big")
    count = int.from_bytes(b[3:6], "big")
    size, typ = struct.unpack(">HB", b[6:9])
    (crc,) = struct.unpack(">I", b[9:13])
    data = b[13:]
    if typ > FIN:
        return None  # not a legacy frame: dropped
    ok = crc == (zlib.crc32(b[0:9] + data) & 0xFFFFFFFF)
    if typ in (ACK, NACK, KPA, FIN) and crc == 0:
        ok = True
    return typ, seq, count, size, data, ok


def recv(folder):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    s.settimeout(TIMEOUT)
    inf = None
    got = []
    while True:
        try:
            b, peer = s.recvfrom(65535)
        except socket.timeout:
            return
        f = parse(b)
        if f is None:
            continue
        typ, seq, count, size, data, ok = f
        if typ == FIN:
            return
        if typ == KPA:
            s.sendto(frame(ACK, crc=False), peer)
            continue
        if typ == INF and ok:
            if inf != (seq, count, size, data):
                inf, got = (seq, count, size, data), []
            s.sendto(frame(ACK, seq, count, size, data, crc=False), peer)
            if count == 0:
                print("text 0", flush=True)
            continue
        if typ != DAT or inf is None:
            continue
        if not ok:
            s.sendto(frame(NACK, seq, count, size, crc=False), peer)
            continue
        if seq == len(got) + 1:
            got.append(data)
        if seq <= len(got):
            s.sendto(frame(ACK, seq, count, size, crc=False), peer)
        if seq == count == len(got):
            names, kind = inf[0], inf[3]
            if kind == b"F":
                name = os.path.basename(b"".join(got[:names]).decode())
                with open(os.path.join(folder, name), "wb") as out:
                    out.write(b"".join(got[names:]))
                print("file", name, flush=True)
            else:
                print("text", len(b"".join(got)), flush=True)


def exchange(s, peer, fr):
    want = parse(fr)
    for _ in range(100):
        s.sendto(fr, peer)
        try:
            b = s.recv(65535)
        except socket.timeout:
            continue
        f = parse(b)
        if f is None:
            continue
        typ, seq, count, size, data, _ = f
        if typ == ACK and (seq, count, size) == want[1:4] and (want[0] != INF or data == want[4]):
            return
    sys.exit("no answer")


def send(host, port, f, files):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    peer = (host, port)
    for path in files:
        name = os.path.basename(path).encode()
        with open(path, "rb") as fh:
            content = fh.read()
        pieces = lambda b: [b[i:i + f] for i in range(0, len(b), f)]
        names, contents = pieces(name), pieces(content)
        count = len(names) + len(contents)
        exchange(s, peer, frame(INF, len(names), count, f, b"F"))
        for i, d in enumerate(names + contents, start=1):
            exchange(s, peer, frame(DAT, i, count, len(d), d))
    s.sendto(frame(FIN, crc=False), peer)
    print("sent", len(files), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(sys.argv[2])
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
