"""A real support-access server for the official-SDK suite: a fresh database, identities
made with the CLI, authorizations raised through the provider API."""

import json
import os
import re
import sqlite3
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SUPPORT_ACCESS_BIN", str(ROOT / "target" / "debug" / "support-access"))


class Server:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = Path(self.dir.name) / "sdk.db"
        self.url = f"sqlite://{self.db}"
        self.proc = subprocess.Popen(
            [BIN, "--database-url", self.url, "serve", "--listen", "127.0.0.1:0", "--ssh-listen", "",
             # CheckHosts' test host listens on loopback, which the default policy refuses; the
             # other requests name hosts in 10.0.0.0/8.
             "--target-networks", "127.0.0.0/8,10.0.0.0/8"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=self.dir.name,
        )
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"unexpected first line: {line!r}"
        self.endpoint = match.group(1)

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
        with urllib.request.urlopen(req) as res:
            text = res.read().decode()
            return res.headers, (json.loads(text) if text else None)

    def login(self, domain, user, password):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": domain}}}}}}
        headers, _ = self.http("POST", "/v3/auth/tokens", body)
        return headers["X-Subject-Token"]

    def expire_access_key(self, ak):
        """Moves a temporary key's expiry into the past, as time would."""
        with sqlite3.connect(self.db) as conn:
            conn.execute("UPDATE access_keys SET expires_at = 0 WHERE access_key = ?", (ak,))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.dir.cleanup()


@pytest.fixture(scope="session")
def world():
    s = Server()
    s.acme_id = s.cli("admin", "domain", "create", "--name", "acme")["id"]
    s.user_ids = {}
    for user, admin in [("alice", True), ("bob", False)]:
        created = s.cli("admin", "user", "create", "--domain", "acme", "--name", user,
                        "--password", f"{user}-password-1", *(["--admin"] if admin else []))
        s.user_ids[user] = created["id"]
    s.cli("admin", "engineer", "create", "--name", "eng", "--password", "eng-password-1")
    s.eng_token = s.login("provider", "eng", "eng-password-1")
    s.bob_token = s.login("acme", "bob", "bob-password-1")
    yield s
    s.stop()
