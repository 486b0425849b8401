#!/usr/bin/python3
"""Browse _netkit._tcp with python-zeroconf (Debian's python3-zeroconf) and
print the first instance found as JSON: {"name", "addresses", "port",
"properties"}. Exits 1 if none is found within TIMEOUT seconds.

Usage: zc_browse.py TIMEOUT
"""
import json
import sys
import threading

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

found = threading.Event()


class Listener(ServiceListener):
    def add_service(self, zc, type_, name):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None:
            return
        print(json.dumps({"name": name, "addresses": info.parsed_addresses(), "port": info.port,
                          "properties": {k.decode(): (v or b"").decode() for k, v in info.properties.items()}}), flush=True)
        found.set()

    def update_service(self, zc, type_, name):
        pass

    def remove_service(self, zc, type_, name):
        pass


zc = Zeroconf()
ServiceBrowser(zc, "_netkit._tcp.local.", Listener())
ok = found.wait(float(sys.argv[1]))
zc.close()
sys.exit(0 if ok else 1)
