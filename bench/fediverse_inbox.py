"""One follower server for `python -m bench.fediverse`: a process that answers POSTs
to its shared inbox with 202 and prints the time each arrived, or (`--hang`) never
answers. Usage: python -m bench.fediverse_inbox [--hang]; prints `listening PORT`."""

from __future__ import annotations

import argparse
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Inbox(BaseHTTPRequestHandler):
    hang = False

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.hang:
            time.sleep(3600)
        print(f"received {time.time():.6f}", flush=True)
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hang", action="store_true")
    Inbox.hang = parser.parse_args().hang
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
