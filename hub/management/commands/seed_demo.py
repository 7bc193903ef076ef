"""`manage.py seed_demo [--history]`: centres, topics, demo people (and optionally a year of activity).

Each app may contribute through a `demo.py` module with `seed(stdout, **options)`; they run in
INSTALLED_APPS order, so centres and users exist before topics, alerts and tickets refer to them.
"""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand

from hub.demo import demo_password


class Command(BaseCommand):
    help = "Create the MOU's centres, the seeded topics and demo users (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--history", action="store_true", help="Also fill a realistic year of activity (once)."
        )

    def handle(self, *args, **options):
        usernames: list[str] = []
        for config in apps.get_app_configs():
            try:
                module = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            result = module.seed(stdout=self.stdout, history=options["history"])
            if isinstance(result, list):
                usernames += result
        self.stdout.write(self.style.SUCCESS("Demo data ready. Users:"))
        for username in usernames:
            self.stdout.write(f"  {username}")
        self.stdout.write(f"Demo password: {demo_password()}")
