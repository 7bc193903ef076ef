"""`manage.py set_person USERNAME [--role R] [--centre CODE] [--active | --inactive]`: change a person's
role, centre or active flag from a script. Their open sockets follow at once (hub/services.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from hub.models import Centre, Role, User


class Command(BaseCommand):
    help = "Change a person's role, centre or active flag; their live sockets follow at once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values)
        parser.add_argument("--centre", help="centre code, or 'none'")
        active = parser.add_mutually_exclusive_group()
        active.add_argument("--active", dest="active", action="store_true", default=None)
        active.add_argument("--inactive", dest="active", action="store_false")

    def handle(self, username: str, role: str | None, centre: str | None, active: bool | None, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if role is not None:
            user.role = role
        if centre is not None:
            found = None if centre.lower() == "none" else Centre.objects.filter(code=centre.upper()).first()
            if found is None and centre.lower() != "none":
                raise CommandError(f"no centre with code {centre!r}")
            user.centre = found
        if active is not None:
            user.is_active = active
        user.save()  # User.save announces the change to the person's sockets
        self.stdout.write(f"{user.username}: {user.role}, {user.centre.code if user.centre else '-'}, "
                          f"{'active' if user.is_active else 'inactive'}")
