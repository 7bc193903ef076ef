"""`manage.py receive_email [--recipient ADDR] [--sender ADDR] < message`: one inbound message from
standard input, for a mail server's pipe transport (Postfix `pipe`, Exim `pipe`).

Exit 0 whatever became of the message (a refused one is logged, never bounced: the sender learns
nothing); exit 75 (EX_TEMPFAIL) when the database is unavailable, so the mail server keeps the message
and tries again later.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from notify.inbound import receive

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Read one email on standard input; a valid reply to a request becomes a comment."

    def add_arguments(self, parser):
        parser.add_argument("--recipient", action="append", default=[],
                            help="Envelope recipient (repeatable); default: the message's own headers.")
        parser.add_argument("--sender", default="", help="Envelope sender, for the log.")

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read()
        try:
            result = receive(raw, recipients=options["recipient"] or None, envelope_from=options["sender"])
        except DatabaseError as exc:
            self.stderr.write(f"receive_email: database unavailable ({exc}); try again later")
            sys.exit(EX_TEMPFAIL)
        record = result.record
        if result.accepted:
            self.stdout.write(f"comment {record.comment_id} added to request {record.ticket_id}")
        else:
            self.stdout.write(f"refused: {record.reason}")
