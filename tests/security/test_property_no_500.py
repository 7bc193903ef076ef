"""No input reaches a 500 (issue 20, class 7), as a property: arbitrary JSON and arbitrary strings —
lone surrogates, NUL, control characters, deep nesting, wrong types — thrown at every write endpoint
and every frame type get a 4xx or an error frame, never a 5xx or a crashed socket, and change nothing
when refused.

Nothing is listed by hand: the endpoints come from the OpenAPI document (every unsafe operation of
/api/v1/) and Django's URL resolver (every other page that takes a POST), the frame types from the
consumers' `handle_*` methods — so whatever is added later is thrown at too.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.asgi import application
from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

# Any character at all, lone surrogates included (hypothesis leaves those out unless asked).
anything = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
strings = st.one_of(
    st.text(anything, max_size=40),
    st.sampled_from(["", " ", "\ud800", "a\x00b", "\x07", "=1+1", "x" * 300, "2026-13-45T99:00", "-1", "1e309",
                     "HT", "an-toan-thong-tin", "critical", "red", "accepted", "me", "null"]),
)
scalars = st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70) \
    | st.floats(allow_nan=False, allow_infinity=False) | strings
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner,
                                                                                                   max_size=4),
                           max_leaves=12)


def shaped(names: list[str]) -> st.SearchStrategy[dict]:
    """Objects with an operation's own field names (so validation goes past "unknown field") and any
    values at all."""
    return st.fixed_dictionaries({}, optional={name: json_values for name in names})


def bodies(names: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        shaped(names).map(json.dumps),
        json_values.map(json.dumps),
        st.text(anything, max_size=60),  # not JSON at all (Django reads it as the body's bytes)
        st.integers(min_value=200, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    )


# --- the world the requests act on ---------------------------------------------------------------------

@pytest.fixture
def world(make_user, settings, tmp_path):
    from alerts.services import raise_alert
    from chat.services import create_topic, post_message
    from requests.services import add_comment, create_ticket

    settings.MEDIA_ROOT = tmp_path / "media"
    for name in ("HUB_WRITE_LIMIT", "HUB_RATE_LIMIT", "HUB_ALERT_LIMIT"):  # limits are tested elsewhere
        setattr(settings, f"{name}_BURST", 10**6)
        setattr(settings, f"{name}_PER_SECOND", 10**6)
    settings.HUB_ABUSE_CLOSE_AFTER = 10**6
    officer = make_user("ht.security", centre="HT", role="security_officer", is_staff=True)
    dn = make_user("dn.manager", centre="DN", role="manager")
    topic = create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    message, _ = post_message(topic, by=officer, body="tin đầu")
    ticket = create_ticket(by=officer, title="Yêu cầu", category="security", target_centre="DN")
    add_comment(ticket, by=dn, body="ghi chú", internal=True)
    alert = raise_alert(by=officer, title="Cảnh báo", severity="high", tlp="amber")
    return {"officer": officer, "dn": dn, "topic": topic, "message": message, "ticket": ticket, "alert": alert}


def path_values(world) -> dict[str, str]:
    """Real values for path parameters, by name, so requests reach the services (a 404 for a made-up
    id would stop them at the door)."""
    return {"slug": world["topic"].slug, "ident": str(world["ticket"].pk), "alert_id": str(world["alert"].pk),
            "message_id": str(world["message"].pk), "username": "dn.manager", "code": "HT",
            "attachment_id": "1", "entry_id": "1", "year": "2026", "fmt": "csv"}


def concrete(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), template)


def stored() -> dict[str, int]:
    """Row counts of every model of the hub's own apps (any app of this repository, so new ones count):
    "nothing stored" is all of them unchanged."""
    from hub.signals import _is_ours

    return {model._meta.label: model._default_manager.count() for model in apps.get_models() if _is_ours(model)}


# --- every unsafe operation of the API ------------------------------------------------------------------

def api_operations() -> list[tuple[str, str, list[str]]]:
    from hub.api import api

    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method not in {"post", "put", "patch", "delete"}:
                continue
            names: list[str] = []
            for content in operation.get("requestBody", {}).get("content", {}).values():
                body_schema = content.get("schema", {})
                ref = body_schema.get("$ref", "")
                if ref:
                    body_schema = components.get(ref.rsplit("/", 1)[-1], {})
                names += list(body_schema.get("properties", {}))
            found.append((method, path, names))
    return found


OPERATIONS = api_operations()


def test_the_operations_are_discovered_not_listed():
    assert len(OPERATIONS) >= 15
    assert ("post", "/api/v1/alerts") in {(m, p) for m, p, _ in OPERATIONS}
    assert {"title", "severity", "tlp"} <= set(next(n for m, p, n in OPERATIONS if p == "/api/v1/alerts"))


@pytest.mark.parametrize("method, template, names", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_write_endpoint_answers_any_body_without_a_500(world, method, template, names):
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(world['officer'])}")
    path = concrete(template, path_values(world))

    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(body=bodies(names))
    def property_holds(body: str) -> None:
        before = stored()
        response = getattr(client, method)(path, data=body, content_type="application/json")
        assert response.status_code < 500, (method, path, body[:200], response.content[:300])
        if response.status_code >= 400:
            assert response.json()["error"]["code"], response.content
            assert stored() == before, (method, path, body[:200])

    property_holds()


# --- every other page that takes a POST (the URL resolver) ---------------------------------------------------

def posted_pages() -> list[str]:
    from django.urls import get_resolver

    pages = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                if not route.startswith(("admin/", "api/")):
                    walk(pattern.url_patterns, route)
            else:
                pages.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.lstrip("^").rstrip("$")))

    walk(get_resolver().url_patterns, "")
    return sorted(set(pages))


PAGES = posted_pages()


@pytest.mark.parametrize("template", PAGES)
def test_every_page_answers_any_post_without_a_500(world, template):
    client = Client()
    client.force_login(world["officer"])
    path = concrete(template, path_values(world))

    @settings(max_examples=6, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(form=st.dictionaries(st.sampled_from(["username", "password", "code", "action", "body", "next",
                                                 "language", "old_password", "new_password1"]),
                                st.text(anything, max_size=30), max_size=4),
           body=bodies(["body"]))
    def property_holds(form: dict, body: str) -> None:
        assert client.post(path, form).status_code < 500, (path, form)
        assert client.post(path, data=body, content_type="application/json").status_code < 500, (path, body[:100])

    property_holds()


# --- every frame type ------------------------------------------------------------------------------------

def frame_types(consumer) -> list[str]:
    return sorted(name.removeprefix("handle_").replace("_", ".") for name in dir(consumer)
                  if name.startswith("handle_"))


FRAME_FIELDS = ["body", "client_id", "after", "up_to", "id", "changed_since", "emoji", "tlp", "shared_with",
                "reply_to"]


def socket_cases() -> list[tuple[str, str]]:
    from chat.consumers import TopicConsumer
    from hub.realtime.notifications import NotificationsConsumer

    return ([("/ws/topics/an-toan-thong-tin/", t) for t in frame_types(TopicConsumer)]
            + [("/ws/notifications/", t) for t in frame_types(NotificationsConsumer)])


SOCKET_CASES = socket_cases()


async def exchange(user, path: str, frame: str) -> tuple[list[dict], dict[str, int]]:
    """Send one frame, then a fence the socket answers for certain (a `sync` after everything, or a
    ping), and return what came back in between, with the row counts from before the frame. A crashed
    consumer raises here."""
    from channels.layers import channel_layers

    from hub.models import WsTicket

    channel_layers.backends = {}  # the in-memory layer belongs to this example's event loop
    ticket = await sync_to_async(WsTicket.issue)(user)
    socket = WebsocketCommunicator(application, f"{path}?ticket={ticket}")
    assert (await socket.connect())[0]
    before = await sync_to_async(stored)()
    fence = {"type": "ping"} if "notifications" in path else {"type": "sync", "after": 2**62}
    done = {"pong"} if "notifications" in path else {"sync.done", "resync"}
    await socket.send_input({"type": "websocket.receive", "text": frame})
    await socket.send_json_to(fence)
    replies = []
    while True:
        output = await socket.receive_output(timeout=10)
        assert output["type"] == "websocket.send", (frame[:200], output)  # never closed (a crash is 1011)
        reply = json.loads(output["text"])
        if reply["type"] in done:
            break
        replies.append(reply)
    await socket.disconnect()
    return replies, before


@pytest.mark.parametrize("path, frame_type", SOCKET_CASES, ids=[f"{p.split('/')[2]} {t}" for p, t in SOCKET_CASES])
def test_every_frame_type_answers_any_content_with_a_frame_never_a_crash(world, path, frame_type):
    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(frame=st.one_of(
        shaped(FRAME_FIELDS).map(lambda fields: json.dumps({**fields, "type": frame_type})),
        st.dictionaries(strings, json_values, max_size=3).map(lambda f: json.dumps({**f, "type": frame_type})),
        st.text(anything, max_size=40).map(lambda t: json.dumps({"type": frame_type, "body": t})),
    ))
    def property_holds(frame: str) -> None:
        replies, before = asyncio.run(exchange(world["officer"], path, frame))
        errors = [r for r in replies if r["type"] == "error"]
        for error in errors:
            assert error["code"] in {"invalid", "too_large", "rate_limited", "forbidden", "unavailable"}, error
            assert isinstance(error["detail"], str) and error["detail"]
        if errors:
            assert stored() == before, (frame[:200], errors)

    property_holds()
