"""A serving container that answers every prediction with garbage: a bad version."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # health
        self._send({"status": "ok"})

    def do_POST(self):  # predict
        length = int(self.headers.get("content-length", 0))
        instances = json.loads(self.rfile.read(length))["instances"]
        self._send({"predictions": [{"label": "maybe", "probability": 7} for _ in instances]})

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ["AIP_HTTP_PORT"])), Handler).serve_forever()
