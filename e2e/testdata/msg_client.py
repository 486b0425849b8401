#!/usr/bin/python3
"""A client of netkit's encrypted messages, written from docs/messages.md
alone: Fernet tokens (cryptography), HTTP with urllib, UDP with socket,
WebSocket with websockets (Debian's python3-websockets).

Usage: NETKIT_KEY=KEY msg_client.py WEB_HOST:PORT MSG_HOST:PORT

Sends every request type over every transport and prints one JSON line per
exchange: {"via", "type", "reply_type", "body"}; then checks that a
broadcast sent over HTTP reaches a WebSocket client and a UDP client that
did a handshake, printing {"via": "push-ws"|"push-udp", "body"}. Exits 1 on
the first answer that does not match its request.
"""
import asyncio
import datetime
import json
import os
import secrets
import socket
import sys
import urllib.request

import websockets
from cryptography.fernet import Fernet, MultiFernet

KEYS = MultiFernet([Fernet(k.strip()) for k in os.environ["NETKIT_KEY"].split(",")])
WEB, UDP = sys.argv[1], sys.argv[2]
TTL = 300


def envelope(kind, body=None):
    env = {"id": secrets.token_hex(16), "type": kind, "sender": "python",
           "time": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")}
    if body is not None:
        env["body"] = body
    return env


def seal(env):
    return KEYS.encrypt(json.dumps(env).encode())


def unseal(token):
    return json.loads(KEYS.decrypt(token.strip(), ttl=TTL))


def check(via, req, ans):
    if ans["type"] != "reply" or ans["reply_to"] != req["id"]:
        sys.exit(f"{via} {req['type']}: answer {ans}")
    print(json.dumps({"via": via, "type": req["type"], "reply_type": ans["type"], "body": ans.get("body")}), flush=True)


def http(env):
    req = urllib.request.Request(f"http://{WEB}/api/v1/messages", data=seal(env),
                                 headers={"Content-Type": "text/plain"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return unseal(resp.read())


def udp(sock, env):
    sock.sendto(seal(env), UDP_ADDR)
    while True:
        data, _ = sock.recvfrom(65535)
        ans = unseal(data)
        if ans.get("reply_to") == env["id"]:
            return ans


def requests():
    return [envelope("handshake"), envelope("ping"), envelope("time"),
            envelope("echo", {"list": [1, 2, 3], "text": "héllo"}), envelope("broadcast", "from python")]


host, port = UDP.rsplit(":", 1)
UDP_ADDR = (host, int(port))


async def main():
    for env in requests():
        check("http", env, http(env))

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    for env in requests():
        check("udp", env, udp(sock, env))

    async with websockets.connect(f"ws://{WEB}/api/v1/ws") as ws:
        for env in requests():
            await ws.send(seal(env).decode())
            while True:
                ans = unseal((await asyncio.wait_for(ws.recv(), 10)).encode())
                if ans.get("reply_to") == env["id"]:
                    break
            check("ws", env, ans)

        # A broadcast sent over HTTP reaches this WebSocket and the UDP
        # socket, which did a handshake above.
        b = envelope("broadcast", {"hello": "everyone"})
        http(b)
        while True:
            push = unseal((await asyncio.wait_for(ws.recv(), 10)).encode())
            if push["type"] == "broadcast" and push["body"] == {"hello": "everyone"}:
                break
        print(json.dumps({"via": "push-ws", "sender": push["sender"], "body": push["body"]}), flush=True)
        while True:
            data, _ = sock.recvfrom(65535)
            push = unseal(data)
            if push["type"] == "broadcast" and push["body"] == {"hello": "everyone"}:
                break
        print(json.dumps({"via": "push-udp", "sender": push["sender"], "body": push["body"]}), flush=True)


asyncio.run(main())
