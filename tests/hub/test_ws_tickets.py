"""WebSocket tickets: signed, not stored, and single-use across processes (issue 27, target 1).

A ticket is the holder's ids and a nonce signed with Django's `TimestampSigner`; issuing one writes
nothing (the reconnect storm's INSERT), redeeming one inserts its claim, whose unique nonce hash is
what makes it single-use in every process that shares the database. What it may never become:
reusable, long-lived, or someone else's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.models import ApiToken, WsTicket
from tests.live import ROOT, database_url_of_test_db

pytestmark = pytest.mark.django_db


def test_issuing_a_ticket_writes_nothing_and_the_ticket_fits_a_url(make_user):
    person = make_user("ht.engineer")
    token, _raw = ApiToken.issue(person)
    with CaptureQueriesContext(connection) as queries:
        tickets = [WsTicket.issue(person, token), WsTicket.issue(person)]
    assert len(queries) == 0
    assert WsTicket.objects.count() == 0
    assert len(set(tickets)) == 2
    for raw in tickets:
        assert set(raw) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    by_token, by_session = WsTicket.redeem(tickets[0]), WsTicket.redeem(tickets[1])
    assert by_token is not None and by_token.ws_token_id == token.pk
    assert by_session is not None and by_session.ws_token_id is None


def test_a_ticket_is_bound_to_its_person_and_token(make_user):
    """Changing whose ticket it is (the person, or the token behind it) breaks the signature, and a
    validly signed ticket naming another person's token lets no one in."""
    person, other = make_user("a"), make_user("b")
    token, _ = ApiToken.issue(person)
    others_token, _ = ApiToken.issue(other)
    raw = WsTicket.issue(person, token)
    user_id, token_id, rest = raw.split(".", 2)
    assert WsTicket.redeem(f"{other.pk}.{token_id}.{rest}") is None
    assert WsTicket.redeem(f"{user_id}.{others_token.pk}.{rest}") is None
    assert WsTicket.redeem(f"{user_id}.0.{rest}") is None
    signer = signing.TimestampSigner(salt="hub.ws-ticket", sep=".")
    assert WsTicket.redeem(signer.sign(f"{person.pk}.{others_token.pk}.forged-nonce")) is None
    assert WsTicket.redeem(signing.TimestampSigner(salt="elsewhere", sep=".").sign(f"{person.pk}.0.n")) is None
    assert WsTicket.redeem(raw) == person  # the genuine one still works, once


def test_a_ticket_expires_after_its_lifetime(make_user):
    person = make_user("a")
    with time_machine.travel(timezone.now()) as clock:
        raw, fresh = WsTicket.issue(person), WsTicket.issue(person)
        clock.shift(timedelta(seconds=settings.WS_TICKET_TTL_SECONDS - 2))
        assert WsTicket.redeem(fresh) == person
        clock.shift(timedelta(seconds=3))
        assert WsTicket.redeem(raw) is None
    assert WsTicket.objects.count() == 1  # only the one redeemed in time was claimed


def test_a_deleted_person_or_token_leaves_a_ticket_worthless(make_user):
    person, gone = make_user("a"), make_user("b")
    token, _ = ApiToken.issue(person)
    by_token, for_gone = WsTicket.issue(person, token), WsTicket.issue(gone)
    token.delete()
    gone.delete()
    assert WsTicket.redeem(by_token) is None
    assert WsTicket.redeem(for_gone) is None
    assert WsTicket.objects.count() == 0


REDEEM_ELSEWHERE = """
import json, sys
import django
django.setup()
from hub.models import WsTicket
user = WsTicket.redeem(sys.argv[1])
print(json.dumps(None if user is None else user.pk))
"""


def redeem_in_another_process(raw: str) -> int | None:
    env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), DJANGO_SETTINGS_MODULE="hub.settings")
    env.pop("TEST_DB_NAME", None)
    done = subprocess.run([sys.executable, "-c", REDEEM_ELSEWHERE, raw], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_a_ticket_is_refused_the_second_time_across_two_processes(make_user):
    """The claim lives in the shared database, not in a process: a ticket redeemed by one server
    process is refused by another, whichever comes first."""
    person = make_user("a", centre="DN")
    token, _ = ApiToken.issue(person)
    first, second = WsTicket.issue(person, token), WsTicket.issue(person)
    assert redeem_in_another_process(first) == person.pk
    assert WsTicket.redeem(first) is None
    assert WsTicket.redeem(second) == person
    assert redeem_in_another_process(second) is None


def test_a_session_s_ticket_names_its_session_by_a_digest_never_by_its_key(make_user):
    """A ticket a browser session fetched carries the session as the control events name it (a digest:
    the key is a credential, and a URL ends up in logs); the handshake checks that session
    (tests/hub/test_session_tickets.py). A token's ticket names no session, and one made to name
    both is refused."""
    from hub.services import session_digest

    person = make_user("a")
    token, _ = ApiToken.issue(person)
    key = "k7q2" * 8
    raw = WsTicket.issue(person, session_key=key)
    assert key not in raw and session_digest(key) in raw
    by_session = WsTicket.redeem(raw)
    assert by_session is not None and by_session == person
    assert by_session.ws_session_tag == session_digest(key) and by_session.ws_token_id is None
    by_token = WsTicket.redeem(WsTicket.issue(person, token))
    assert by_token is not None and by_token.ws_session_tag is None
    signer = signing.TimestampSigner(salt="hub.ws-ticket", sep=".")
    assert WsTicket.redeem(signer.sign(f"{person.pk}.{token.pk}.n1.{session_digest(key)}")) is None
    assert WsTicket.redeem(signer.sign(f"{person.pk}.0.n2.{session_digest(key)}.more")) is None
    user_id, token_id, nonce, tag = raw.split(".")[:4]
    assert WsTicket.redeem(raw.replace(tag, session_digest("another-session"))) is None  # the signature
