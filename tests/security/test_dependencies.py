"""The versions the hub's security rests on, checked where the network-bound `make audit` cannot
look (docs/deployment.md, "Dependency audit")."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def release(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(name).split(".")[:3] if part.isdigit())


def test_daphne_has_websocket_size_limits():
    # CVE-2026-44545: daphne before 4.2.3 had no WebSocket frame or message size limit.
    assert release("daphne") >= (4, 2, 3)


def test_django_is_the_52_lts():
    assert release("django")[:2] == (5, 2)


def test_every_requirement_is_pinned_so_the_audit_checks_what_runs():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("-")]
    assert requirements and all("==" in line for line in requirements), requirements
