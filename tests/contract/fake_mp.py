"""A MercadoPago stand-in for the contract run: it creates checkout preferences, so that
`POST /api/tenants/{tid}/orders` with `"checkout": true` gets an answer and no request leaves the
machine. Anything else answers 404 as MercadoPago does for an unknown resource."""

import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeMercadoPago(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/checkout/preferences"):
            pref = str(uuid.uuid4())
            self.answer(201, {"id": pref, "init_point": f"http://mp.invalid/checkout/{pref}"})
        else:
            self.answer(404, {"message": "not found", "status": 404})

    def do_GET(self):
        self.answer(404, {"message": "not found", "status": 404})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), FakeMercadoPago).serve_forever()
