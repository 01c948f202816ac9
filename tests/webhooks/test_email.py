"""Notification e-mail through a real SMTP server (aiosmtpd), as recipients see it."""

import email
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import RAISE, Server

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-Pa55-word-7731"
HOST_PASSWORD = "host-Secret-Pw-4410"
PUBLIC_URL = "https://access.example.test"


class Inbox:
    """An SMTP server that accepts mail only after a login with the right password."""

    def __init__(self):
        self.messages = []  # (envelope recipients, parsed message, raw bytes)
        self.logins = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     authenticator=self.authenticate, auth_required=True,
                                     auth_require_tls=False)
        self.controller.start()

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
              and auth_data.password == SMTP_PASSWORD.encode())
        self.logins.append(ok)
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed, raw))
        return "250 OK"

    def wait_for(self, predicate, within=30.0):
        deadline = time.time() + within
        while time.time() < deadline:
            if predicate(list(self.messages)):
                return list(self.messages)
            time.sleep(0.1)
        raise AssertionError(f"timed out; {len(self.messages)} messages: "
                             f"{[(m[0], m[1]['Subject']) for m in self.messages]}")

    def to(self, address):
        return [m for rcpts, m, _ in self.messages if address in rcpts]


@pytest.fixture
def inbox():
    box = Inbox()
    yield box
    box.controller.stop()


@pytest.fixture
def mail_server(inbox):
    s = Server(extra_args=[
        "--smtp-url", f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{inbox.port}",
        "--smtp-from", "Support Access <noreply@access.example.test>",
        "--public-url", PUBLIC_URL,
    ])
    yield s
    s.stop()
    s.dir.cleanup()


def bodies(message):
    """The text/plain and text/html parts of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    return parts["text/plain"], parts["text/html"]


def test_approvers_get_a_new_request_in_their_language_and_the_engineer_the_decision(
        mail_server, inbox):
    s = mail_server
    acme = s.cli("admin", "domain", "create", "--name", "acme")["id"]
    users = {}
    # alice: administrator, reads Chinese; carol: operator of bob's group, English;
    # bob: the submitter (default language); dave: neither, gets nothing.
    for name, admin in [("alice", True), ("bob", False), ("carol", False), ("dave", False)]:
        users[name] = s.cli("admin", "user", "create", "--domain", "acme", "--name", name,
                            "--password", f"{name}-password-1",
                            *(["--admin"] if admin else []))["id"]
        s.cli("admin", "user", "update", "--domain", "acme", "--name", name,
              "--email", f"{name}@acme.example")
    s.cli("admin", "user", "update", "--domain", "acme", "--name", "alice", "--language", "zh-cn")
    s.cli("admin", "user", "update", "--domain", "acme", "--name", "carol", "--language", "en-us")
    s.cli("admin", "group", "create", "--domain", "acme", "--name", "ops", "--operator")
    for member in ["bob", "carol"]:
        s.cli("admin", "group", "add-member", "--domain", "acme", "--group", "ops", "--user", member)
    s.cli("admin", "engineer", "create", "--name", "eng", "--password", "eng-password-1")
    s.cli("admin", "user", "update", "--domain", "provider", "--name", "eng",
          "--email", "eng@provider.example")
    eng = s.login("provider", "eng", "eng-password-1")
    alice = s.login("acme", "alice", "alice-password-1")

    body = dict(RAISE, customer_id=acme, x_customer_id=users["bob"], incident_id="CS-MAIL-1")
    status, auth = s.http("POST", "/provider/v1/authorizations", body, eng)
    assert status == 201, auth
    auth_id, host_detail = auth["id"], auth["details"][0]["id"]

    approvers = {"alice@acme.example", "carol@acme.example", "bob@acme.example"}
    inbox.wait_for(lambda ms: {r for rcpts, _, _ in ms for r in rcpts} >= approvers)
    time.sleep(1)  # anything else would have arrived by now
    assert {r for rcpts, _, _ in inbox.messages for r in rcpts} == approvers, "dave and eng get nothing"
    assert all(inbox.logins) and inbox.logins, "the server logged in with the URL's password"

    [zh] = inbox.to("alice@acme.example")
    [en] = inbox.to("carol@acme.example")
    link = f"{PUBLIC_URL}/console/requests/{auth_id}"
    assert zh["From"] == "Support Access <noreply@access.example.test>"
    assert zh["To"] == "alice@acme.example"
    assert zh["Subject"] == "[support-access] 工单 CS-MAIL-1 的访问授权请求待审批"
    assert en["Subject"] == "[support-access] Access request for CS-MAIL-1 awaits approval"
    assert zh["Message-ID"].startswith("<evt_") and zh["Message-ID"] != en["Message-ID"]
    assert zh["Date"]
    text, html = bodies(zh)
    assert "工单 CS-MAIL-1" in text and "打开: " + link in text
    assert f'href="{link}"' in html and "CS-MAIL-1" in html and 'lang="zh-CN"' in html
    text, html = bodies(en)
    assert "incident CS-MAIL-1" in text and "Open: " + link in text
    assert f'href="{link}"' in html and 'lang="en"' in html

    # The decision goes to the engineer, with a link to their requests.
    grant = {"auth_detail_list": [{"auth_detail_id": host_detail, "port": 22, "account": "root",
                                   "password": HOST_PASSWORD}]}
    status, body = s.http("PUT", f"/v2/servicerequest/authorizations/{auth_id}", grant, alice)
    assert status == 200, body
    inbox.wait_for(lambda ms: any("eng@provider.example" in r for r, _, _ in ms))
    [decision] = inbox.to("eng@provider.example")
    assert decision["Subject"] == "[support-access] Access for CS-MAIL-1 was approved"
    text, html = bodies(decision)
    assert f"{PUBLIC_URL}/console/mine" in text and f"{PUBLIC_URL}/console/mine" in html

    # No secret anywhere: not the host password, not the SMTP password, not a token.
    s.stop()
    log = s.log.read_text()
    for _, _, raw in inbox.messages:
        for secret in [HOST_PASSWORD, SMTP_PASSWORD, eng, alice]:
            assert secret.encode() not in raw
    assert SMTP_PASSWORD not in log
    assert HOST_PASSWORD not in log
    # Each recipient once: three approvers and the engineer.
    assert len(inbox.messages) == 4


def test_a_bad_smtp_setting_is_refused_at_start_up_without_echoing_the_password():
    import subprocess
    from conftest import BIN
    out = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--ssh-listen", "",
                          "--database-url", "sqlite:///nonexistent/x.db",
                          "--smtp-url", f"ftp://u:{SMTP_PASSWORD}@relay:25",
                          "--smtp-from", "noreply@example.com"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "smtp_url" in out.stderr and SMTP_PASSWORD not in out.stderr + out.stdout
