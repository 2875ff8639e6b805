"""Bad serving containers, for playing a bad release: `garbage` answers every prediction with
nonsense; `flaky` answers well at first (it passes the smoke test) and then fails most
requests with a 500; `crash` exits before it is ever ready (simulation.serving.faulty)."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

MODE = sys.argv[1] if len(sys.argv) > 1 else "garbage"
served = [0]
if MODE == "crash":
    sys.exit("faulty_server: crashed on start (no model server)")


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
        served[0] += 1
        if MODE == "flaky":
            if served[0] > 3 and served[0] % 4:
                self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            answer = [{"label": "<=50K", "probability": 0.2} for _ in instances]
        else:
            answer = [{"label": "maybe", "probability": 7} for _ in instances]
        self._send({"predictions": answer})

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ["AIP_HTTP_PORT"])), Handler).serve_forever()
