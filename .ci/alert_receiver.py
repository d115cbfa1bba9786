#!/usr/bin/env python3
"""A local stand-in for Slack and for a webhook receiver, for .ci/alerting.

    alert_receiver.py PORT_FILE RECEIVED_FILE

Listens on 127.0.0.1 on a free port, which it writes to PORT_FILE once it accepts
connections. Every POST is answered 200 ("ok", like a Slack incoming webhook) and appended to
RECEIVED_FILE as one JSON line: {"path": ..., "at": unix time, "body": the JSON it received}.
Runs until it is killed.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    port_file, received_file = sys.argv[1], sys.argv[2]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"unparsed": raw.decode("utf-8", "replace")}
            line = json.dumps({"path": self.path, "at": time.time(), "body": body})
            with open(received_file, "a") as out:
                out.write(line + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args):
            sys.stderr.write("receiver: " + format % args + "\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Written whole, then renamed: a reader never sees half a port number.
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
