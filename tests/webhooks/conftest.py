"""A real support-access server and a webhook receiver that verifies every delivery
with the Standard Webhooks reference library."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SUPPORT_ACCESS_BIN", str(ROOT / "target" / "debug" / "support-access"))


class Server:
    def __init__(self, directory=None, extra_args=()):
        self.dir = directory or tempfile.TemporaryDirectory()
        self.extra_args = list(extra_args)
        self.db = Path(self.dir.name) / "webhooks.db"
        self.url = f"sqlite://{self.db}"
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [BIN, "--database-url", self.url, "serve", "--listen", "127.0.0.1:0", "--ssh-listen", "",
             "--webhook-allow-private", "--webhook-poll-interval", "100ms", *self.extra_args],
            stdout=subprocess.PIPE, stderr=self.stderr(), text=True, cwd=self.dir.name,
        )
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"unexpected first line: {line!r}"
        self.endpoint = match.group(1)

    def stderr(self):
        """The server's log, kept so tests can check what it never says."""
        self.log = Path(self.dir.name) / "server.log"
        return open(self.log, "a")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def cli(self, *args):
        out = subprocess.run([BIN, "--database-url", self.url, "--output", "json", *args],
                             capture_output=True, text=True, cwd=self.dir.name)
        if out.returncode != 0:
            raise AssertionError(f"{args}: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip().startswith(("{", "[")) else out.stdout

    def http(self, method, path, body=None, token=None):
        req = urllib.request.Request(self.endpoint + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("X-Auth-Token", token)
        try:
            with urllib.request.urlopen(req) as res:
                text = res.read().decode()
                return res.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "null")

    def login(self, domain, user, password):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": domain}}}}}}
        req = urllib.request.Request(self.endpoint + "/v3/auth/tokens", method="POST",
                                     data=json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req) as res:
            return res.headers["X-Subject-Token"]

    def outbox_ids(self):
        with sqlite3.connect(self.db) as conn:
            return {f"evt_{r[0]}" for r in conn.execute("SELECT id FROM outbox_events")}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Receiver:
    """Records every delivery; verifies it with each secret it was given."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = []
        self.deliveries = []  # (webhook-id, payload, signature header, verified)
        self.fail_first = set()  # types answered 500 the first time
        self.failed = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k: v for k, v in self.headers.items()}
                with receiver.lock:
                    verified = []
                    for secret in receiver.secrets:
                        try:
                            Webhook(secret).verify(body, headers)
                            verified.append(secret)
                        except WebhookVerificationError:
                            pass
                    payload = json.loads(body)
                    wid = headers.get("webhook-id") or headers.get("Webhook-Id")
                    receiver.deliveries.append({
                        "id": wid, "payload": payload, "verified": verified,
                        "signatures": headers.get("webhook-signature", headers.get("Webhook-Signature", "")),
                    })
                    fail = payload["type"] in receiver.fail_first and wid not in receiver.failed
                    if fail:
                        receiver.failed.add(wid)
                self.send_response(500 if fail else 204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def ids(self):
        with self.lock:
            return {d["id"] for d in self.deliveries}

    def wait_for(self, predicate, within=60.0):
        deadline = time.time() + within
        while time.time() < deadline:
            with self.lock:
                if predicate(list(self.deliveries)):
                    return list(self.deliveries)
            time.sleep(0.1)
        with self.lock:
            raise AssertionError(f"timed out; {len(self.deliveries)} deliveries received")


RAISE = {
    "incident_id": "CS-HOOK-1", "simple_description": "disk full", "auth_describe": "clean logs",
    "resource_type_id": "1", "visit_type_id": "1", "content_type_id": "1",
    "content_of_auth_letter": "I promise.",
    "details": [{"type": 1, "instance_id": "ecs-1", "instance_name": "db-1",
                 "region_id": "cn-south-1", "host": "10.0.0.7", "port": 22}],
}


class World:
    def __init__(self, server):
        self.s = server
        self.acme_id = server.cli("admin", "domain", "create", "--name", "acme")["id"]
        self.ids = {}
        for user, admin in [("alice", True), ("bob", False)]:
            created = server.cli("admin", "user", "create", "--domain", "acme", "--name", user,
                                 "--password", f"{user}-password-1", *(["--admin"] if admin else []))
            self.ids[user] = created["id"]
        server.cli("admin", "engineer", "create", "--name", "eng", "--password", "eng-password-1")
        self.login()

    def login(self):
        self.eng = self.s.login("provider", "eng", "eng-password-1")
        self.alice = self.s.login("acme", "alice", "alice-password-1")

    def raise_request(self):
        body = dict(RAISE, customer_id=self.acme_id, x_customer_id=self.ids["bob"])
        status, auth = self.s.http("POST", "/provider/v1/authorizations", body, self.eng)
        assert status == 201, auth
        return auth["id"], [d["id"] for d in auth["details"]]

    def reject(self, auth_id):
        path = f"/v2/servicerequest/authorizations/{auth_id}/action?action_id=reject"
        status, body = self.s.http("PUT", path, {}, self.alice)
        assert status == 200, body

    def recall(self, auth_id):
        path = f"/provider/v1/authorizations/{auth_id}/recall"
        status, body = self.s.http("POST", path, {}, self.eng)
        assert status == 200, body

    def subscribe(self, receiver, events=("authorization.*",)):
        status, hook = self.s.http("POST", "/customer/v1/webhooks",
                                   {"url": receiver.url, "events": list(events)}, self.alice)
        assert status == 201, hook
        receiver.secrets.append(hook["secret"])
        return hook


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()
    s.dir.cleanup()


@pytest.fixture
def world(server):
    return World(server)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.httpd.shutdown()
