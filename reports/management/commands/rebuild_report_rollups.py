"""Recompute the reports' rollups from the rows they count (reports/rollups.py).

The triggers keep them exact on every write; this is for a database restored without them, a bulk
load done with the triggers disabled, or a check: `--check` only compares and exits non-zero when a
rollup differs from the rows."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from reports import rollups


class Command(BaseCommand):
    help = "Recompute the reports' rollups (message counts per day, request counts per month) from the rows."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare only; exit 1 when they differ")

    def handle(self, *args, check: bool = False, **options):
        if check:
            differing = {"message": rollups.message_days_differing(), "request": rollups.ticket_months_differing()}
            wrong = [f"the {name} rollup differs from the rows in {n} cells" for name, n in differing.items() if n]
            if wrong:
                raise CommandError("; ".join(wrong))
            self.stdout.write("the message and request rollups equal the rows")
            return
        rows = rollups.rebuild_message_days(connection)
        self.stdout.write(f"message rollup rebuilt: {rows} rows")
        rows = rollups.rebuild_ticket_months(connection)
        self.stdout.write(f"request rollup rebuilt: {rows} rows")
