from django.core.management.base import BaseCommand

from hub.models import ApiToken
from hub.services import revoke_tokens


class Command(BaseCommand):
    help = "Revoke every API token of USERNAME (or one token by its prefix with --prefix)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--prefix", default="")

    def handle(self, *args, username: str, prefix: str, **options):
        qs = ApiToken.objects.filter(user__username=username, revoked_at__isnull=True)
        if prefix:
            qs = qs.filter(prefix=prefix)
        count = revoke_tokens(qs)
        self.stdout.write(f"Revoked {count} token(s).")
