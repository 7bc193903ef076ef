"""The hub is a plain ASGI application: no project module imports daphne or uvicorn (issue 11).

The servers are started as separate programs by hub/server/serve.py; ruff's banned-api rule (TID251 in
pyproject.toml) catches the same thing in editors, this test catches it in `make test`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["hub", "chat", "alerts", "requests", "reports", "frontend"]
FORBIDDEN = {"daphne", "uvicorn", "twisted", "autobahn"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_project_module_imports_an_asgi_server():
    offenders = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            bad = imported_roots(path) & FORBIDDEN
            if bad:
                offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_settings_do_not_install_the_daphne_app():
    from django.conf import settings

    assert "daphne" not in settings.INSTALLED_APPS


def test_the_serve_command_gives_both_servers_the_same_websocket_limits():
    from hub.server.serve import command, limits

    lim = limits()
    daphne = command("daphne", "127.0.0.1", "8000")
    uvicorn = command("uvicorn", "127.0.0.1", "8000")
    assert daphne[daphne.index("--websocket-max-message-size") + 1] == str(lim["max_message"])
    assert uvicorn[uvicorn.index("--ws-max-size") + 1] == str(lim["max_message"])
    # Neither server believes X-Forwarded-For; the hub does, from its declared proxies only (issue 20).
    assert "--proxy-headers" not in daphne and "--no-proxy-headers" in uvicorn
    assert uvicorn[uvicorn.index("--ws") + 1] == "websockets-sansio"
    assert uvicorn[uvicorn.index("--loop") + 1] == "uvloop"


def test_uvicorn_accepts_no_compression_unless_the_deployment_turns_it_on(monkeypatch):
    """As daphne: a browser's permessage-deflate offer is declined (tests/hub/test_live_server.py
    shows it on the wire), unless HUB_WS_PER_MESSAGE_DEFLATE=1."""
    from hub.server.serve import command

    def deflate() -> str:
        line = command("uvicorn", "127.0.0.1", "8000")
        return line[line.index("--ws-per-message-deflate") + 1]

    monkeypatch.delenv("HUB_WS_PER_MESSAGE_DEFLATE", raising=False)
    assert deflate() == "false"
    monkeypatch.setenv("HUB_WS_PER_MESSAGE_DEFLATE", "1")
    assert deflate() == "true"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_both_servers_listen_with_the_same_deep_accept_queue(host):
    """Twisted's default backlog (50) overflowed when a thousand clients connected at once; both
    servers get HUB_LISTEN_BACKLOG (2048, uvicorn's own default) on the requested address."""
    from hub.server.serve import command, limits

    backlog = limits()["backlog"]
    daphne = command("daphne", host, "8000")
    uvicorn = command("uvicorn", host, "8000")
    endpoint = daphne[daphne.index("-e") + 1]
    assert endpoint.startswith("tcp:port=8000:interface=") and endpoint.endswith(f":backlog={backlog}")
    assert ("\\:" in endpoint) == (":" in host)  # IPv6 colons escaped for Twisted
    assert uvicorn[uvicorn.index("--backlog") + 1] == str(backlog)
