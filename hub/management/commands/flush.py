"""Django's `flush`, allowed to empty the append-only tables on SQLite (hub/lib/erasing.py).

It is what `manage.py flush` and the test suite's teardown of transactional tests run; nothing else
in the hub deletes timeline or history rows, and on SQLite nothing else can."""

from django.core.management.commands.flush import Command as DjangoFlush

from hub.lib.erasing import erasing


class Command(DjangoFlush):
    def handle(self, **options):
        with erasing():
            return super().handle(**options)
