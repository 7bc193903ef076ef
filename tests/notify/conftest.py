"""Real mail and HTTP servers for the notification tests, started by the test on 127.0.0.1.

- `smtp`: an aiosmtpd server that keeps every message it receives (parsed), and can be told to
  refuse the next N with a temporary error (to test retries). Django's SMTP backend is pointed at it.
- `receiver`: an HTTP server that records each POST (headers, body) and answers what the test says
  (status codes in turn, a delay).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.live import free_port


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Cast:
    """HT raises alerts and asks for help; DN and QB receive. Everyone has an email address."""

    ht_security: Any
    ht_manager: Any
    ht_engineer: Any
    dn_security: Any
    dn_manager: Any
    dn_engineer: Any
    qb_manager: Any
    admin: Any


@pytest.fixture
def cast(make_user) -> Cast:
    def person(username, centre, role):
        return make_user(username, centre=centre, role=role, email=f"{username}@{(centre or 'hub').lower()}.example.vn")

    return Cast(
        ht_security=person("ht.security", "HT", "security_officer"),
        ht_manager=person("ht.manager", "HT", "manager"),
        ht_engineer=person("ht.engineer", "HT", "engineer"),
        dn_security=person("dn.security", "DN", "security_officer"),
        dn_manager=person("dn.manager", "DN", "manager"),
        dn_engineer=person("dn.engineer", "DN", "engineer"),
        qb_manager=person("qb.manager", "QB", "manager"),
        admin=person("admin", None, "hub_admin"),
    )


# --- SMTP ----------------------------------------------------------------------------------------


class _Collector:
    def __init__(self) -> None:
        self.messages: list = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_next = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Try again later"
            self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.original_content
                                                                                or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    collector: _Collector

    @property
    def messages(self) -> list:
        return self.collector.messages

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1; the hub's email goes to it through Django's SMTP backend."""
    collector = _Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield SmtpServer("127.0.0.1", port, collector)
    finally:
        controller.stop()


def subject(message) -> str:
    """The decoded subject (a folded encoded-word header parses with a leading space)."""
    return str(message["Subject"]).strip()


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# --- HTTP receiver ----------------------------------------------------------------------------------


@dataclass
class Receiver:
    port: int
    requests: list = field(default_factory=list)
    statuses: list = field(default_factory=list)  # answered in turn; then 200
    delay: float = 0.0
    redirect_to: str | None = None
    server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, n: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


def _start_receiver() -> Receiver:
    receiver = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server name
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if receiver.delay:
                time.sleep(receiver.delay)
            receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                      "at": time.monotonic()})
            if receiver.redirect_to:
                self.send_response(302)
                self.send_header("Location", receiver.redirect_to)
                self.end_headers()
                return
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.server = server
    return receiver


@pytest.fixture
def receivers():
    """`receivers()` → a new running Receiver; all are shut down after the test."""
    started: list[Receiver] = []

    def make() -> Receiver:
        receiver = _start_receiver()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def receiver(receivers):
    return receivers()


@pytest.fixture
def allow_private(settings):
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
