"""A receiver built on the Standard Webhooks reference library (`standardwebhooks` on PyPI) verifies what a
live cdt-api sends: run by tests/contract/run.py with the interpreter of its virtualenv.

    python webhook_receiver.py BASE_URL ADMIN_USERNAME LEADER_USERNAME PASSWORD

Subscribes as the admin to a receiver on 127.0.0.1 (the server runs with WEBHOOK_ALLOWED_HOSTS=127.0.0.1),
logs a session as the team leader, and checks that the delivery verifies with the library, carries the
session as `GET /training-sessions/{id}` returns it, and that a tampered body does not verify. Exits non-zero
otherwise.
"""

import datetime
import http.server
import json
import sys
import threading
import time
import urllib.request

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def call(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def main():
    base, admin, leader, password = sys.argv[1:5]
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tokens = {name: call(base, "POST", "/api/v1/auth/login", body={"username": name, "password": password})
              ["access_token"] for name in (admin, leader)}
    subscription = call(base, "POST", "/api/v1/webhooks", tokens[admin], {
        "url": f"http://127.0.0.1:{server.server_port}/hooks", "event_types": ["training_session.created"],
        "description": "standardwebhooks reference receiver"})
    try:
        team = call(base, "GET", "/api/v1/me", tokens[leader])["team_id"]
        yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
        session = call(base, "POST", "/api/v1/training-sessions", tokens[leader], {
            "team_id": team, "kind": "training", "held_on": yesterday, "duration_minutes": 60,
            "format": "in_person", "topics": ["vneid"], "participants_total": 12, "participants_female": 6,
            "participants_ethnic_minority": 9, "participants_elderly": 1, "households_reached": 8})
        deadline = time.time() + 30
        while time.time() < deadline and not received:
            time.sleep(0.1)
        if not received:
            raise SystemExit("no delivery within 30 s")
        headers, body = received[0]
        verified = Webhook(subscription["secret"]).verify(body, headers)
        if verified["type"] != "training_session.created" or verified["data"]["id"] != session["id"]:
            raise SystemExit(f"unexpected event: {verified}")
        shown = call(base, "GET", f"/api/v1/training-sessions/{session['id']}", tokens[leader])
        if verified["data"] != shown:
            raise SystemExit(f"the event's data differs from the endpoint's:\n{verified['data']}\n{shown}")
        try:
            Webhook(subscription["secret"]).verify(body.replace(b"training", b"trainin9"), headers)
            raise SystemExit("a tampered body verified")
        except WebhookVerificationError:
            pass
        print(f"webhook: the standardwebhooks library verified {headers['webhook-id']} "
              f"({verified['type']} of {session['id']})")
    finally:
        call(base, "DELETE", f"/api/v1/webhooks/{subscription['id']}", tokens[admin])
        server.shutdown()


if __name__ == "__main__":
    main()
