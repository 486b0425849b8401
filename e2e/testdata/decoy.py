"""Ports that accept TCP but are not netkit, for the sweep test.

Usage: decoy.py MODE ADDR PORT [MODE ADDR PORT ...]

MODE is one of
  http    an HTTP server that answers every request 200 with a line of text
  silent  accepts and then says nothing, holding the connection
  close   accepts and closes at once
Prints "ready" once every port listens; runs until its standard input
closes.
"""
import http.server
import socket
import sys
import threading


class OK(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        body = b"ok, but not netkit\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def raw(addr, port, mode):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    held = []

    def loop():
        while True:
            c, _ = s.accept()
            if mode == "close":
                c.close()
            else:
                held.append(c)

    threading.Thread(target=loop, daemon=True).start()


def main():
    args = sys.argv[1:]
    for i in range(0, len(args), 3):
        mode, addr, port = args[i], args[i + 1], int(args[i + 2])
        if mode == "http":
            srv = http.server.ThreadingHTTPServer((addr, port), OK)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        else:
            raw(addr, port, mode)
    print("ready", flush=True)
    sys.stdin.read()


main()
