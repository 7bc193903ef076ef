"""Create the benchmark's users, spread over the MOU centres, each with an API token.

    DJANGO_SETTINGS_MODULE=hub.settings python -m bench.seed_users --count 1000 --out tokens.json

Users are `bench-NNNN` security officers (every topic admits them), round-robin over the seeded
centres; they have no usable password. Tokens are printed once into `--out` (only hashes are stored),
so each run issues fresh ones; re-running replaces the previous bench tokens.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from hub.models import ApiToken, Centre, Role, User

    centres = list(Centre.objects.order_by("code"))
    if not centres:
        raise SystemExit("no centres: run `manage.py seed_demo` first")
    names = [f"bench-{i:04d}" for i in range(args.count)]
    with transaction.atomic():
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        unusable = make_password(None)
        User.objects.bulk_create([
            User(username=name, centre=centres[i % len(centres)], role=Role.SECURITY_OFFICER,
                 display_name=f"Bench {i:04d}", password=unusable)
            for i, name in enumerate(names) if name not in existing
        ])
        users = {u.username: u for u in User.objects.filter(username__in=names)}
        ApiToken.objects.filter(user__in=users.values(), name="bench").delete()
        tokens = [ApiToken.issue(users[name], name="bench")[1] for name in names]
    args.out.write_text(json.dumps(tokens))
    print(f"{len(tokens)} bench users ready")


if __name__ == "__main__":
    main()
