"""Reachability of the real services the tests use, and the CI rule: in CI a missing service is a
failure, on a developer's machine a skip with the reason."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_problem(url: str) -> str | None:
    try:
        import psycopg

        dsn = url.replace("postgres://", "postgresql://", 1)
        base, _, _ = dsn.rpartition("/")
        with psycopg.connect(base + "/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"PostgreSQL at {url} unreachable ({type(exc).__name__}: {exc})"


def redis_problem(url: str) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
        return None
    except Exception as exc:
        return f"Redis at {url} unreachable ({type(exc).__name__}: {exc})"


def chromium_problem() -> str | None:
    if shutil.which("chromium") or os.path.exists("/usr/bin/chromium"):
        return None
    return "Debian's chromium is not installed (the Makefile installs it when run as root)"


def require(problem: str | None) -> None:
    """Skip with the reason, or fail under CI=true."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"required service missing in CI: {problem}", pytrace=False)
    pytest.skip(problem)
