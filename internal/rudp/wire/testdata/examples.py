#!/usr/bin/env python3
"""Independent encoder for the two examples of SEED-PROTOCOL.md.

Run by hand (python3 testdata/examples.py); its output is recorded as the
constants of examples_test.go, so the Go codec is checked against a second
implementation built only on zlib.crc32 and the document's byte layout.
"""
import struct
import zlib

INF, ACK, NACK, DAT, KPA, FIN = range(6)
NAMES = ["INF", "ACK", "NACK", "DAT", "KPA", "FIN"]


def frame(typ, seq, count, size, data=b"", with_crc=True):
    head = seq.to_bytes(3, "big") + count.to_bytes(3, "big") + struct.pack(">HB", size, typ)
    crc = zlib.crc32(head + data) & 0xFFFFFFFF if with_crc else 0
    return head + struct.pack(">I", crc) + data, crc


def transfer(kind, name, content, f):
    pieces = lambda b: [b[i:i + f] for i in range(0, len(b), f)]
    names, contents = pieces(name), pieces(content)
    count = len(names) + len(contents)
    out = []
    inf, crc = frame(INF, len(names), count, f, kind)
    out.append(("INF", len(names), count, f, kind, crc, inf))
    ack, _ = frame(ACK, len(names), count, f, kind, with_crc=False)
    out.append(("ACK", len(names), count, f, kind, 0, ack))
    for i, d in enumerate(names + contents, start=1):
        dat, crc = frame(DAT, i, count, len(d), d)
        out.append(("DAT", i, count, len(d), d, crc, dat))
        ack, _ = frame(ACK, i, count, len(d), b"", with_crc=False)
        out.append(("ACK", i, count, len(d), b"", 0, ack))
    return out


def show(title, rows):
    print("//", title)
    for typ, seq, count, size, data, crc, wire in rows:
        print('{%s, %d, %d, %d, %-8s 0x%08x, "%s"},' % (typ, seq, count, size, '"%s",' % data.decode(), crc, wire.hex()))
    print()


show("text", transfer(b"T", b"", b"Toto je textova sprava.", 4))
show("file", transfer(b"F", b"smallFile.bin", b"It is a small file.", 4))
for typ in (KPA, FIN):
    wire, crc = frame(typ, 0, 0, 0)
    print("// %s with its real crc: 0x%08x %s" % (NAMES[typ], crc, wire.hex()))
