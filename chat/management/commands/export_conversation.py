"""`manage.py export_conversation <slug> --by <hub admin> --reason "…" [--output file]`.

The only way a hub admin who is not a member reads a direct conversation (issue 26 §1): never in
their own UI (the Django admin and every page leave conversations out), only here, and only after
an audit record (`chat.ConversationExport`: who, when, why, how many messages, the export's SHA-256)
is written. docs/chat.md, "Direct conversations".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chat.models import Topic
from chat.services import export_conversation
from hub.errors import HubError
from hub.lib.jsonutil import dumps
from hub.models import User


class Command(BaseCommand):
    help = "Export a direct conversation as JSON (hub admins; writes an audit record first)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--by", required=True, help="The hub admin's username (recorded).")
        parser.add_argument("--reason", required=True, help="Why (recorded with the export).")
        parser.add_argument("--output", help="Write here instead of standard output.")

    def handle(self, *args: Any, slug: str, by: str, reason: str, output: str | None = None, **options: Any) -> None:
        topic = Topic.objects.filter(slug=slug, kind=Topic.Kind.DIRECT).first()
        if topic is None:
            raise CommandError(f"No direct conversation {slug}.")
        admin = User.objects.filter(username=by).first()
        if admin is None:
            raise CommandError(f"No person {by}.")
        try:
            data, record = export_conversation(topic, by=admin, reason=reason)
        except HubError as error:
            raise CommandError(error.render()) from error
        text = dumps(data)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            self.stdout.write(text)
        self.stderr.write(f"Export #{record.pk} recorded ({record.messages} messages, sha256 {record.sha256}).")
