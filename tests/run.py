"""`make test`: the core suite on SQLite + in-memory layer, then everything on PostgreSQL + Redis.

Outside CI a missing PostgreSQL or Redis skips the second pass with a reason; with CI=true it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.services import postgres_problem, redis_problem

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest(env_overrides: dict[str, str], extra: list[str], title: str) -> int:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(env_overrides)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("HUB_CHANNEL_PREFIX", f"hubtest{os.getpid()}")
    print(f"\n===== {title} =====", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *extra, *sys.argv[1:]], env=env)


def main() -> int:
    ci = os.environ.get("CI", "").lower() == "true"
    code = pytest({}, ["-m", "not services"], "pass 1: SQLite + in-memory channel layer")
    if code != 0:
        return code
    problems = [p for p in (postgres_problem(TEST_DATABASE_URL), redis_problem(TEST_REDIS_URL)) if p]
    if problems:
        message = "pass 2 (PostgreSQL + Redis) cannot run: " + "; ".join(problems)
        if ci:
            print("FAILED: " + message, flush=True)
            return 1
        print("SKIPPED: " + message, flush=True)
        return 0
    return pytest(
        {"DATABASE_URL": TEST_DATABASE_URL, "REDIS_URL": TEST_REDIS_URL},
        [],
        "pass 2: PostgreSQL + Redis, real servers and browser",
    )


if __name__ == "__main__":
    sys.exit(main())
