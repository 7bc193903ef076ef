"""`manage.py run_mail_server [--host H] [--port P] [--lmtp]`: a small SMTP (or LMTP) server that
takes the replies to the hub's request emails (aiosmtpd).

Point the reply domain's MX, or the mail server's transport for `hub+r-*` addresses, at it. Every
message is accepted (250) and handed to `notify.inbound.receive`, which decides and logs; nothing is
ever bounced, so a forger learns nothing. A database outage answers 451 (try again later), so no
reply is lost. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from notify.inbound import receive

logger = logging.getLogger("notify.mail_server")
MAX_RECIPIENTS = 20


class ReplyHandler:
    """aiosmtpd handler: every recipient accepted, every message handed to `receive` in a thread."""

    def __init__(self, lmtp: bool = False) -> None:
        self.lmtp = lmtp

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            await sync_to_async(_receive, thread_sensitive=False)(raw, list(envelope.rcpt_tos),
                                                                  envelope.mail_from or "")
            status = "250 2.0.0 Message accepted"
        except DatabaseError:
            logger.exception("inbound message not stored: database unavailable")
            status = "451 4.3.0 Try again later"
        except Exception:  # noqa: BLE001 - a fault of ours: logged here, never its text to the sender
            logger.exception("inbound message not stored: unexpected error")
            status = "451 4.3.0 Try again later"
        if self.lmtp:  # LMTP answers once per recipient
            return "\r\n".join(status for _ in envelope.rcpt_tos)
        return status


def _receive(raw: bytes, recipients: list[str], sender: str) -> None:
    close_old_connections()
    try:
        receive(raw, recipients=recipients, envelope_from=sender)
    finally:
        close_old_connections()


class _LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def start_server(host: str, port: int, lmtp: bool = False) -> Controller:
    """Start the server in its own thread (the tests use this too); `.stop()` ends it."""
    cls = _LMTPController if lmtp else Controller
    controller = cls(ReplyHandler(lmtp=lmtp), hostname=host, port=port,
                     data_size_limit=settings.HUB_INBOUND_MAX_BYTES, server_hostname="hub")
    controller.start()
    return controller


class Command(BaseCommand):
    help = "Receive replies by email over SMTP (or LMTP with --lmtp) and turn them into comments."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HUB_MAIL_SERVER_HOST)
        parser.add_argument("--port", type=int, default=settings.HUB_MAIL_SERVER_PORT)
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")

    def handle(self, *args, **options):
        controller = start_server(options["host"], options["port"], options["lmtp"])
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        kind = "LMTP" if options["lmtp"] else "SMTP"
        self.stdout.write(f"run_mail_server: {kind} on {options['host']}:{options['port']} (SIGTERM to stop)")
        self.stdout.flush()
        try:
            loop.run_until_complete(stop.wait())
        finally:
            controller.stop()
            loop.close()
        self.stdout.write("run_mail_server: stopped")
