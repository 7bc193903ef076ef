"""The one authorisation table (docs/authorisation.csv) against every read path (issue 24 §2).

The table is this test's input, not a copy of the code: for each item type (every model with a `tlp`
field), each TLP and sharing scope, and each viewer, it says whether the viewer reads the item and
whether the item is counted in their figures. Here every row is checked through every path that
could show the item: the API's lists, details, search, exports and downloads, the live sockets (topic
and notifications), sync, unread counts, the summary in the security topic, the dashboard and the
yearly report, the notification list (the bell) and the email each person would be sent (composed
as the worker composes it, TLP:RED and AMBER+STRICT without their content; for a request's comments
and files, the notifications and emails of their history lines). A model with a `tlp`
field and no rows fails `test_every_item_type_has_rows`.

The world (docs/authorisation.md): HT's security officer writes messages and raises alerts; HT's
engineer asks DN for help in requests that QB's `qb_watcher` watches (added while the request was
AMBER); QB's other people are unrelated; `admin` is a hub admin outside any centre.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from tests.chat.conftest import open_topic

TABLE = Path(__file__).resolve().parents[2] / "docs" / "authorisation.csv"
pytestmark = pytest.mark.django_db(transaction=True)


def load_table() -> dict[str, dict[tuple[str, str], dict[str, dict[str, bool]]]]:
    """{model: {(tlp, shared_with): {viewer: {"reads": bool, "counted": bool}}}}"""
    table: dict = defaultdict(lambda: defaultdict(dict))
    with TABLE.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            table[row["model"]][(row["tlp"], row["shared_with"])][row["viewer"]] = {
                "reads": row["reads"] == "yes", "counted": row["counted"] == "yes"}
    return table


TABLE_ROWS = load_table()
ROLES = {"engineer": "engineer", "security": "security_officer", "manager": "manager", "watcher": "engineer"}


def test_every_item_type_has_rows():
    """A model with a TLP cannot be added without saying, in the table, who reads it."""
    marked = {m._meta.label for m in apps.get_models() if any(f.name == "tlp" for f in m._meta.get_fields())}
    assert marked <= set(TABLE_ROWS), f"no rows in {TABLE.name} for {sorted(marked - set(TABLE_ROWS))}"
    assert set(TABLE_ROWS) <= set(CHECKS), f"rows without a path check: {sorted(set(TABLE_ROWS) - set(CHECKS))}"
    for model, items in TABLE_ROWS.items():
        for key, viewers in items.items():
            # Hub admins read everything but the direct conversations they are not in (issue 26 §1).
            assert "admin" in viewers and viewers["admin"]["reads"] != model.endswith("[direct]"), key


# --- the cast ---------------------------------------------------------------------------------------


@pytest.fixture
def cast(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    people = {}
    names = {v for items in TABLE_ROWS.values() for viewers in items.values() for v in viewers}
    for name in sorted(names):
        if name == "admin":
            people[name] = make_user("admin", centre=None, role="hub_admin")
            continue
        code, kind = name.split("_")
        people[name] = make_user(f"{code}.{kind}", centre=code.upper(), role=ROLES[kind],
                                 email=f"{code}.{kind}@{code}.example.vn")  # so email is a path too
    return people


def api(user) -> Client:
    from tests.conftest import token_for

    return Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def expect(model: str, what: str = "reads") -> dict[str, set[tuple[str, str]]]:
    """{viewer: the items (tlp, shared_with) the table says they read / are counted for}."""
    out: dict[str, set] = defaultdict(set)
    for key, viewers in TABLE_ROWS[model].items():
        for viewer, says in viewers.items():
            if says[what]:
                out[viewer].add(key)
    return out


def check(found: dict[str, set], model: str, path: str, what: str = "reads", extra: set | None = None) -> list:
    """The differences between what each viewer got through `path` and the table."""
    wrong: list[tuple[Any, ...]] = []
    for viewer, expected in expect(model, what).items():
        expected = expected | (extra or set())
        got = found.get(viewer, set())
        if got != expected:
            wrong.append((model, path, viewer, "missing", sorted(expected - got), "extra", sorted(got - expected)))
    for viewer in set(found) - set(expect(model, what)):
        if found[viewer] - (extra or set()):
            wrong.append((model, path, viewer, "extra", sorted(found[viewer])))
    return wrong


async def frames_until(socket, kind: str, sentinel, key) -> set:
    """Read `kind` frames until the one `key` maps to `sentinel`; the keys seen before it."""
    seen: set[Any] = set()
    while True:
        frame = await socket.receive_json_from(timeout=10)
        if frame.get("type") != kind:
            continue
        value = key(frame)
        if value == sentinel:
            return seen
        if value is not None:
            seen.add(value)


# --- messages ---------------------------------------------------------------------------------------

SCOPES = {"-": None, "DN": ["DN"], "own": []}


async def check_messages(cast) -> list:
    from chat.services import create_topic, post_message
    from reports.selectors import cooperation_report, dashboard, parse_filters

    model = "chat.Message"
    topic = await sync_to_async(create_topic)(slug="bang-tlp", name_vi="Bảng TLP", name_en="TLP table",
                                              default_tlp="clear")
    sockets = {name: await open_topic(user, topic.slug) for name, user in cast.items()}
    items: dict[int, tuple] = {}
    try:
        for key in TABLE_ROWS[model]:
            tlp, scope = key
            message, _ = await sync_to_async(post_message)(
                topic, by=cast["ht_security"], body=f"bangtlp {tlp} {scope}", tlp=tlp, shared_with=SCOPES[scope])
            items[message.pk] = key
        sentinel, _ = await sync_to_async(post_message)(topic, by=cast["ht_security"], body="hết")
        live = {name: {items[i] for i in await frames_until(sock, "message", sentinel.pk,
                                                            lambda f: f["message"]["id"])}
                for name, sock in sockets.items()}
        synced = {}
        for name, sock in sockets.items():
            await sock.send_json_to({"type": "sync", "after": 0})
            got = set()
            while (frame := await sock.receive_json_from(timeout=10))["type"] != "sync.done":
                if frame["type"] == "message" and frame["message"]["id"] in items:
                    got.add(items[frame["message"]["id"]])
            synced[name] = got
    finally:
        for sock in sockets.values():
            await sock.disconnect()

    def over_http() -> list:
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        counted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        year = timezone.localdate().year
        for name, user in cast.items():
            client = api(user)
            history = client.get(f"/api/v1/topics/{topic.slug}/messages", {"limit": "200"}).json()["results"]
            found["history"][name] = {items[m["id"]] for m in history if m["id"] in items}
            found["search"][name] = {items[m["id"]] for m in client.get(
                "/api/v1/search", {"q": "bangtlp", "limit": "200"}).json()["results"] if m["id"] in items}
            found["one"][name] = {key for pk, key in items.items()
                                  if client.get(f"/api/v1/topics/{topic.slug}/messages/{pk}").status_code == 200}
            unread = next(t for t in client.get("/api/v1/topics").json()["results"] if t["slug"] == topic.slug)
            authored = name == "ht_security"
            # Counts are compared by number: the table's items for this viewer, and the sentinel.
            n = len(expect(model, "counted")[name])
            counted["unread"][name] = 0 if authored else n + 1 - unread["unread"]
            counted["dashboard"][name] = n + 1 - dashboard(user, parse_filters({})).totals["messages"]
            counted["report"][name] = n + 1 - cooperation_report(year, user).network["messages"]
        wrong = [w for path, got in found.items() for w in check(got, model, path)]
        for path, per_viewer in counted.items():
            wrong += [(model, path, name, "off by", diff) for name, diff in per_viewer.items() if diff != 0]
        return wrong

    wrong = check(live, model, "socket") + check(synced, model, "sync")
    return wrong + await sync_to_async(over_http)()


# --- alerts -----------------------------------------------------------------------------------------


async def check_alerts(cast) -> list:
    from alerts.services import raise_alert
    from reports.selectors import cooperation_report, dashboard, parse_filters
    from tests.alerts.conftest import listen

    model = "alerts.Alert"
    sockets = {name: await listen(user) for name, user in cast.items()}
    items: dict[int, tuple] = {}
    try:
        for key in TABLE_ROWS[model]:
            tlp, scope = key
            alert = await sync_to_async(raise_alert)(
                by=cast["ht_security"], title=f"bangtlp {tlp} {scope}", severity="high", tlp=tlp,
                shared_with=SCOPES[scope] or [], indicators=[{"type": "domain", "value": "shared.example"}])
            items[alert.pk] = key
        sentinel = await sync_to_async(raise_alert)(by=cast["ht_security"], title="hết", severity="low",
                                                    tlp="clear")
        live = {name: {items[i] for i in await frames_until(sock, "alert", sentinel.pk, lambda f: f["alert"]["id"])}
                for name, sock in sockets.items()}
    finally:
        for sock in sockets.values():
            await sock.disconnect()

    def over_http() -> list:
        from notify.services import expand_alert_notices

        expand_alert_notices()  # the raises' notices, as the job `notify.alerts` does within seconds
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        wrong: list[tuple[Any, ...]] = []
        year = timezone.localdate().year
        for name, user in cast.items():
            client = api(user)
            listed = client.get("/api/v1/alerts", {"limit": "200"}).json()["results"]
            found["list"][name] = {items[a["id"]] for a in listed if a["id"] in items}
            found["search"][name] = {items[a["id"]] for a in client.get(
                "/api/v1/alerts", {"q": "bangtlp", "limit": "200"}).json()["results"]}
            found["detail"][name] = {key for pk, key in items.items()
                                     if client.get(f"/api/v1/alerts/{pk}").status_code == 200}
            found["stix"][name] = {key for pk, key in items.items()
                                   if client.get(f"/api/v1/alerts/{pk}/stix").status_code == 200}
            found["page"][name] = {key for pk, key in items.items()
                                   if browser(user).get(f"/alerts/{pk}/").status_code == 200}
            found["indicators"][name] = {items[s["alert"]] for s in client.get(
                "/api/v1/indicators", {"value": "shared[.]example"}).json()["results"]}
            summaries = client.get("/api/v1/topics/an-toan-thong-tin/messages", {"limit": "200"}).json()["results"]
            by_client_id = {f"alert-{pk}": key for pk, key in items.items()}
            found["summary message"][name] = {by_client_id[m["client_id"]] for m in summaries
                                              if m["client_id"] in by_client_id}
            bell = client.get("/api/v1/notifications", {"limit": 200}).json()["results"]
            found["notifications"][name] = {items[n["alert"]] for n in bell if n["alert"] in items}
            n = len(expect(model, "counted")[name]) + 1  # the sentinel
            for path, got in (("dashboard", dashboard(user, parse_filters({})).totals["alerts_raised"]),
                              ("report", cooperation_report(year, user).network["alerts_raised"])):
                if got != n:
                    wrong.append((model, path, name, "counts", got, "table", n))
        # The raiser is never notified of their own alert; everyone else the table lets read it is.
        if found["notifications"].pop("ht_security", set()):
            wrong.append((model, "notifications", "ht_security", "notified of their own alerts"))
        wrong += [w for w in check(found.pop("notifications"), model, "notifications") if w[2] != "ht_security"]
        return wrong + email_path(model, items, cast) + [w for path, got in found.items()
                                                         for w in check(got, model, path)]

    return check(live, model, "notifications socket") + await sync_to_async(over_http)()


def email_path(model: str, items: dict[int, tuple], cast) -> list:
    """The email each person would be sent about each alert, composed as the worker composes it: only
    readers get one (by default the security officers, for a high alert — never the raiser), and a
    TLP:RED or AMBER+STRICT alert's email never carries its title or text (issue 25 §1)."""
    from notify.emails import compose
    from notify.models import Email
    names = {user.pk: name for name, user in cast.items()}
    readers = expect(model)
    wrong: list[tuple[Any, ...]] = []
    got: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for email in Email.objects.filter(alert_id__in=list(items)):
        composed = compose(email)
        if composed.message is None or email.alert_id is None:
            continue
        name, key = names[email.user_id], items[email.alert_id]
        got[name].add(key)
        message, html = composed.message, composed.message.alternatives[0][0]
        assert isinstance(html, str)
        whole = f"{message.subject}\n{message.body}\n{html}"
        if (key[0] in ("red", "amber+strict")) == ("bangtlp" in whole):
            wrong.append((model, "email", name, key, "content withheld" if key[0] in ("red", "amber+strict")
                          else "content", "bangtlp" in whole))
    for name, user in cast.items():
        expected = readers.get(name, set()) if user.role == "security_officer" and name != "ht_security" else set()
        if got.get(name, set()) != expected:
            wrong.append((model, "email", name, "missing", sorted(expected - got.get(name, set())),
                          "extra", sorted(got.get(name, set()) - expected)))
    return wrong


def notified_within_the_table(model: str, items: dict[int, tuple], cast, field: str) -> list:
    """Whoever a change notified (the bell, GET /api/v1/notifications) is a reader of the item in the
    table: notifications follow the one rule (the people involved are a subset of the readers)."""
    wrong = []
    readers = expect(model)
    for name, user in cast.items():
        bell = api(user).get("/api/v1/notifications", {"limit": 200}).json()["results"]
        seen = {items[n[field]] for n in bell if n[field] in items}
        if seen - readers.get(name, set()):
            wrong.append((model, "notifications", name, "extra", sorted(seen - readers.get(name, set()))))
    return wrong


# --- requests, their comments and attachments ------------------------------------------------------


def _ticket(cast, tlp: str, title: str):
    from requests.services import add_watcher, create_ticket, update_ticket

    ticket = create_ticket(by=cast["ht_engineer"], title=title, description=title, category="security",
                           target_centre="DN")
    add_watcher(ticket, by=cast["ht_engineer"], username="qb.watcher")  # while AMBER: watchers from elsewhere may
    if tlp != "amber":
        ticket = update_ticket(ticket, by=cast["ht_engineer"], changes={"tlp": tlp})
    return ticket


async def check_tickets(cast) -> list:
    from reports.selectors import cooperation_report, dashboard, parse_filters
    from requests.models import Ticket
    from requests.services import create_ticket, update_ticket
    from tests.alerts.conftest import listen

    model = "support_requests.Ticket"
    items: dict[int, tuple] = {}
    for key in TABLE_ROWS[model]:
        tlp, _scope = key
        ticket = await sync_to_async(_ticket)(cast, tlp, f"bangtlp {tlp}")
        items[ticket.pk] = key
    sockets = {name: await listen(user) for name, user in cast.items()}
    try:
        for pk in items:
            ticket = await sync_to_async(Ticket.objects.get)(pk=pk)
            await sync_to_async(update_ticket)(ticket, by=cast["dn_engineer"], changes={"priority": "high"})
        # The last change reaches everyone: a request for any centre, new.
        sentinel = await sync_to_async(create_ticket)(by=cast["dn_engineer"], title="hết", category="other")
        live = {name: {items[i] for i in await frames_until(sock, "ticket", sentinel.pk,
                                                            lambda f: f["ticket"]["id"])}
                for name, sock in sockets.items()}
    finally:
        for sock in sockets.values():
            await sock.disconnect()

    def over_http() -> list:
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        wrong: list[tuple[Any, ...]] = []
        year = timezone.localdate().year
        for name, user in cast.items():
            client = api(user)
            listed = client.get("/api/v1/tickets", {"limit": "200"}).json()["results"]
            found["list"][name] = {items[t["id"]] for t in listed if t["id"] in items}
            found["search"][name] = {items[t["id"]] for t in client.get(
                "/api/v1/tickets", {"q": "bangtlp", "limit": "200"}).json()["results"]}
            found["detail"][name] = {key for pk, key in items.items()
                                     if client.get(f"/api/v1/tickets/{pk}").status_code == 200}
            found["page"][name] = {key for pk, key in items.items()
                                   if browser(user).get(f"/tickets/{pk}/").status_code == 200}
            exported = browser(user).get("/tickets/export.csv")
            assert isinstance(exported, StreamingHttpResponse)
            export = exported.getvalue().decode()
            cells = {cell for row in csv.reader(export.splitlines()) for cell in row}  # every field is quoted
            found["export"][name] = {key for key in items.values() if f"bangtlp {key[0]}" in cells}
            threads = dict(Ticket.objects.filter(pk__in=items).values_list("pk", "thread__slug"))
            found["thread"][name] = {key for pk, key in items.items()
                                     if client.get(f"/api/v1/topics/{threads[pk]}/messages").status_code == 200}
            n = len(expect(model, "counted")[name]) + 1  # the sentinel
            for path, got in (("dashboard", dashboard(user, parse_filters({})).totals["open"]),
                              ("report", cooperation_report(year, user).network["made"])):
                if got != n:
                    wrong.append((model, path, name, "counts", got, "table", n))
        wrong += notified_within_the_table(model, items, cast, "ticket")
        return wrong + [w for path, got in found.items() for w in check(got, model, path)]

    return check(live, model, "notifications socket") + await sync_to_async(over_http)()


async def check_comments(cast) -> list:
    from requests.services import add_comment
    from tests.alerts.conftest import listen

    model = "support_requests.Comment"
    ticket = await sync_to_async(_ticket)(cast, "amber", "bangtlp comments")
    sockets = {name: await listen(user) for name, user in cast.items()}
    items: dict[int, tuple] = {}
    try:
        for key in TABLE_ROWS[model]:
            tlp, scope = key
            if scope == "internal":
                comment = await sync_to_async(add_comment)(ticket, by=cast["dn_engineer"], body=f"bangtlp {key}",
                                                           internal=True, tlp=tlp)
            else:
                comment = await sync_to_async(add_comment)(
                    ticket, by=cast["ht_engineer"], body=f"bangtlp {key}", tlp=tlp, shared_with=SCOPES[scope])
            items[comment.pk] = key
        sentinel = await sync_to_async(add_comment)(ticket, by=cast["ht_engineer"], body="hết")
        # The sentinel (public) reaches whoever reads the request; the others get no frame of it at all.
        readers = expect("support_requests.Ticket")
        live = {}
        for name, sock in sockets.items():
            if ("amber", "-") in readers[name]:
                live[name] = {items[i] for i in await frames_until(
                    sock, "ticket", sentinel.pk, lambda f: f.get("comment", {}).get("id"))}
            else:
                live[name] = set()
                while not await sock.receive_nothing(timeout=0.5):
                    frame = await sock.receive_json_from()
                    if frame.get("type") == "ticket" and frame.get("comment", {}).get("id") in items:
                        live[name].add(items[frame["comment"]["id"]])
    finally:
        for sock in sockets.values():
            await sock.disconnect()

    def over_http() -> list:
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for name, user in cast.items():
            response = api(user).get(f"/api/v1/tickets/{ticket.pk}")
            comments = response.json()["comments"] if response.status_code == 200 else []
            found["detail"][name] = {items[c["id"]] for c in comments if c["id"] in items}
            history = response.json()["history"] if response.status_code == 200 else []
            found["history"][name] = {items[e["after"]["comment"]] for e in history
                                      if e["kind"] == "comment" and e["after"]["comment"] in items}
        changes = item_changes(items, "comment")
        return ([w for path, got in found.items() for w in check(got, model, path)]
                + notified_within_the_table(model, changes, cast, "ticket_event")
                + comment_email_path(model, changes, cast))

    return check(live, model, "notifications socket") + await sync_to_async(over_http)()


def item_changes(items: dict[int, tuple], kind: str) -> dict[int, tuple]:
    """The history lines ("X commented", "X attached …") of these comments or files, by the same key."""
    from requests.models import TicketEvent

    return {event.pk: items[event.after[kind]] for event in TicketEvent.objects.filter(kind=kind)
            if isinstance(event.after, dict) and event.after.get(kind) in items}


def comment_email_path(model: str, changes: dict[int, tuple], cast) -> list:
    """The unseen-rule email each person is sent about the comments, composed as the worker composes
    it: it quotes a comment only to its readers, and never one marked TLP:RED or AMBER+STRICT."""
    from datetime import timedelta
    from html import unescape

    from notify.delivery import queue_batches
    from notify.emails import compose
    from notify.services import update_preferences

    for user in cast.values():  # whatever the hour the test runs at (request changes: email by default)
        update_preferences(user=user, quiet_hours=False)
    readers = expect(model)
    names = {user.pk: name for name, user in cast.items()}
    wrong: list[tuple[Any, ...]] = []
    quoted_somewhere = False
    for email in queue_batches(timezone.now() + timedelta(hours=1)):
        composed = compose(email)
        if composed.message is None:
            continue
        message, html = composed.message, composed.message.alternatives[0][0]
        assert isinstance(html, str)
        whole = f"{message.subject}\n{message.body}\n{unescape(html)}"
        name = names[email.user_id]
        for key in set(changes.values()):
            if f"bangtlp {key}" not in whole:
                continue
            quoted_somewhere = True
            if key not in readers.get(name, set()) or key[0] in ("red", "amber+strict"):
                wrong.append((model, "email", name, "quotes", key))
    if not quoted_somewhere:
        wrong.append((model, "email", "nobody was quoted a comment: the check is vacuous"))
    return wrong


async def check_attachments(cast) -> list:
    from requests.services import add_attachment, add_comment

    model = "support_requests.Attachment"

    def build() -> list[Any]:
        ticket = _ticket(cast, "amber", "bangtlp attachments")
        items: dict[int, Any] = {}
        for key in TABLE_ROWS[model]:
            tlp, scope = key
            upload = SimpleUploadedFile(f"nhat-ky-{len(items)}.txt", b"bangtlp", "text/plain")
            if scope == "internal":
                note = add_comment(ticket, by=cast["dn_engineer"], body="nội bộ", internal=True)
                attachment = add_attachment(ticket, by=cast["dn_engineer"], upload=upload, comment_id=note.pk, tlp=tlp)
            elif scope == "own":
                note = add_comment(ticket, by=cast["ht_engineer"], body="riêng HT", shared_with=[])
                attachment = add_attachment(ticket, by=cast["ht_engineer"], upload=upload, comment_id=note.pk, tlp=tlp)
            else:
                attachment = add_attachment(ticket, by=cast["ht_engineer"], upload=upload, tlp=tlp)
            items[attachment.pk] = key
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for name, user in cast.items():
            client = api(user)
            response = client.get(f"/api/v1/tickets/{ticket.pk}")
            listed = response.json()["attachments"] if response.status_code == 200 else []
            found["detail"][name] = {items[a["id"]] for a in listed}
            found["download"][name] = {key for pk, key in items.items() if client.get(
                f"/api/v1/tickets/{ticket.pk}/attachments/{pk}").status_code == 200}
        return ([w for path, got in found.items() for w in check(got, model, path)]
                + notified_within_the_table(model, item_changes(items, "attachment"), cast, "ticket_event"))

    return await sync_to_async(build)()


async def check_direct_messages(cast) -> list:
    """Messages of a direct conversation between HT's security officer and DN's engineer: only they
    read them, on every path; a hub admin is no exception; no figure counts them."""
    from chat.services import post_message, start_conversation
    from reports.selectors import cooperation_report, dashboard, parse_filters
    from tests.chat.conftest import close_code

    model = "chat.Message[direct]"
    topic, _ = await sync_to_async(start_conversation)(by=cast["ht_security"], members=["dn.engineer"])
    readers = {name for name, viewers in TABLE_ROWS[model][("amber", "-")].items() if viewers["reads"]}
    refused = {name: await close_code(user, f"/ws/topics/{topic.slug}/") for name, user in cast.items()
               if name not in readers}
    sockets = {name: await open_topic(cast[name], topic.slug) for name in readers}
    items: dict[int, tuple] = {}
    try:
        for key in TABLE_ROWS[model]:
            tlp, _scope = key
            message, _ = await sync_to_async(post_message)(topic, by=cast["ht_security"], body=f"bangtlp {tlp}",
                                                           tlp=tlp)
            items[message.pk] = key
        sentinel, _ = await sync_to_async(post_message)(topic, by=cast["ht_security"], body="hết")
        live = {name: {items[i] for i in await frames_until(sock, "message", sentinel.pk,
                                                            lambda f: f["message"]["id"])}
                for name, sock in sockets.items()}
    finally:
        for sock in sockets.values():
            await sock.disconnect()
    wrong = [(model, "socket", name, "close code", code) for name, code in refused.items() if code != 4403]

    def over_http() -> list:
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        out: list[tuple] = []
        year = timezone.localdate().year
        for name, user in cast.items():
            client = api(user)
            history = client.get(f"/api/v1/topics/{topic.slug}/messages", {"limit": 200})
            found["history"][name] = {items[m["id"]] for m in history.json().get("results", []) if m["id"] in items}
            found["search"][name] = {items[m["id"]] for m in client.get(
                "/api/v1/search", {"q": "bangtlp", "limit": "200"}).json()["results"] if m["id"] in items}
            found["one"][name] = {key for pk, key in items.items()
                                  if client.get(f"/api/v1/topics/{topic.slug}/messages/{pk}").status_code == 200}
            listed = {t["slug"]: t for t in client.get("/api/v1/topics", {"kind": "all"}).json()["results"]}
            found["list"][name] = set(items.values()) if topic.slug in listed else set()
            if browser(user).get(f"/topics/{topic.slug}/").status_code == 200:
                found["page"][name] = set(items.values())
            if name == "dn_engineer" and listed.get(topic.slug, {}).get("unread") != len(items) + 1:
                out.append((model, "unread", name, listed.get(topic.slug)))
            for path, got in (("dashboard", dashboard(user, parse_filters({})).totals["messages"]),
                              ("report", cooperation_report(year, user).network["messages"])):
                if got != 0:
                    out.append((model, path, name, "counts", got))
        return out + [w for path, got in found.items() for w in check(got, model, path)]

    return wrong + check(live, model, "socket") + await sync_to_async(over_http)()


async def check_templates(cast) -> list:
    """Request templates of HT, kept by its manager, each TLP, kept to HT or shared: the list, one
    template, and the new-request page's choice (the same API) answer as the table says."""
    from requests.services import create_template

    model = "support_requests.TicketTemplate"

    def build() -> list:
        items: dict[int, tuple] = {}
        for key in TABLE_ROWS[model]:
            tlp, scope = key
            template = create_template(by=cast["ht_manager"], name=f"mẫu {tlp} {scope}", title="Đăng ký thi",
                                       category="training", tlp=tlp, shared=scope == "all")
            items[template.pk] = key
        found: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for name, user in cast.items():
            client = api(user)
            found["list"][name] = {items[t["id"]] for t in client.get("/api/v1/ticket-templates").json()
                                   if t["id"] in items}
            found["one"][name] = {key for pk, key in items.items()
                                  if client.get(f"/api/v1/ticket-templates/{pk}").status_code == 200}
        return [w for path, got in found.items() for w in check(got, model, path)]

    return await sync_to_async(build)()


CHECKS = {
    "chat.Message": check_messages,
    "chat.Message[direct]": check_direct_messages,
    "alerts.Alert": check_alerts,
    "support_requests.Ticket": check_tickets,
    "support_requests.Comment": check_comments,
    "support_requests.Attachment": check_attachments,
    "support_requests.TicketTemplate": check_templates,
}


@pytest.mark.parametrize("model", sorted(CHECKS))
async def test_every_path_answers_as_the_table_says(cast, model, settings, tmp_path):
    from chat.services import create_topic

    settings.MEDIA_ROOT = tmp_path / "media"
    await sync_to_async(create_topic)(slug="an-toan-thong-tin", name_vi="An toàn thông tin",
                                      name_en="Information security", default_tlp="amber")
    viewers = {v for rows in TABLE_ROWS[model].values() for v in rows}
    wrong = await CHECKS[model]({name: user for name, user in cast.items() if name in viewers})
    assert wrong == [], "\n".join(map(str, wrong))


async def test_the_checks_are_not_vacuous(cast):
    """Someone outside a TLP:RED message's scope would see it if the check were missing: the same
    socket gets it once the scope allows them (so 'no frame' above is a real refusal)."""
    from chat.services import create_topic, post_message

    topic = await sync_to_async(create_topic)(slug="bang-tlp-2", name_vi="x", name_en="x", default_tlp="clear")
    sock = await open_topic(cast["qb_engineer"], topic.slug)
    try:
        await sync_to_async(post_message)(topic, by=cast["ht_security"], body="riêng", shared_with=["DN"])
        shown, _ = await sync_to_async(post_message)(topic, by=cast["ht_security"], body="cho QB",
                                                     shared_with=["QB"])
        assert await frames_until(sock, "message", shown.pk, lambda f: f["message"]["id"]) == set()
    finally:
        await sock.disconnect()
