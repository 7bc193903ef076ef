from django.core.management.base import BaseCommand, CommandError

from hub.models import ApiToken, User


class Command(BaseCommand):
    help = "Issue a new API token for USERNAME; the key is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label, e.g. 'SIEM at HT'.")

    def handle(self, *args, username: str, name: str, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated.")
        token, raw = ApiToken.issue(user, name=name)
        self.stdout.write(f"Token {token.prefix}… issued for {username}. Keep it secret; it is not shown again.")
        self.stdout.write(raw)
