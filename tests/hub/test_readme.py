"""README's first commands, verbatim, in a fresh copy of the checkout (issue 23: `manage.py
issue_token ht.security` failed with ImproperlyConfigured after `make run` on a fresh clone).

The copy holds the files git would clone (tracked and new, not ignored ones: no `.env`, no database)
and this checkout's virtual environment; the environment is a newcomer's (no DJANGO_*, DATABASE_URL,
REDIS_URL). The commands are read from README.md, so the test fails when README changes them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.live import ROOT, free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]


def readme_command(pattern: str) -> str:
    """The first `code span` of README.md that matches `pattern`."""
    for span in re.findall(r"`([^`\n]+)`", (ROOT / "README.md").read_text(encoding="utf-8")):
        if re.search(pattern, span):
            return span
    raise AssertionError(f"README.md has no command matching {pattern!r}")


def fresh_copy(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith(".venv"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # keeps mtimes: make sees the venv as installed
    (target / ".venv").symlink_to((ROOT / ".venv").resolve())


def newcomer_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "HUB_", "DATABASE_URL", "REDIS_URL", "TEST_DB", "DEMO_"))}
    env.update({"PORT": str(port), "HOST": "127.0.0.1"})
    return env


def test_readme_commands_work_verbatim_on_a_fresh_clone(tmp_path):
    make_run = readme_command(r"^make run$")
    issue_token = readme_command(r"manage\.py issue_token")
    curl = readme_command(r"^curl ")
    assert issue_token == ".venv/bin/python manage.py issue_token ht.security"
    checkout = tmp_path / "hub"
    checkout.mkdir()
    fresh_copy(checkout)
    port = free_port()
    env = newcomer_env(port)
    log = open(tmp_path / "make-run.log", "w")
    server = subprocess.Popen(shlex.split(make_run), cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (tmp_path / "make-run.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "make-run.log").read_text()
            time.sleep(1)
        token = subprocess.run(shlex.split(issue_token), cwd=checkout, env=env, capture_output=True, text=True,
                               timeout=120)
        assert token.returncode == 0, token.stderr
        key = token.stdout.strip().splitlines()[-1].strip()
        assert re.fullmatch(r"[\w.:-]{20,}", key), token.stdout
        command = shlex.split(curl.replace("<key>", key).replace(":8000", f":{port}"))
        me = subprocess.run([*command, "--silent", "--fail"], env=env, capture_output=True, text=True, timeout=30)
        assert me.returncode == 0, me.stderr
        assert json.loads(me.stdout)["username"] == "ht.security"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)
        log.close()
