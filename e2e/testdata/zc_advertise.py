#!/usr/bin/python3
"""Advertise a _netkit._tcp service with python-zeroconf (Debian's
python3-zeroconf) until stdin closes; prints "registered" once it is.

Usage: zc_advertise.py NAME ADDRESS PORT
"""
import socket
import sys

from zeroconf import ServiceInfo, Zeroconf

name, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
zc = Zeroconf()
info = ServiceInfo("_netkit._tcp.local.", f"{name}._netkit._tcp.local.", addresses=[socket.inet_aton(address)],
                   port=port, properties={"txtvers": "1", "version": "python-zeroconf", "services": "web"},
                   server=f"{name}.local.")
zc.register_service(info)
print("registered", flush=True)
sys.stdin.read()
zc.unregister_service(info)
zc.close()
