"""The API's JSON renderer (hub.lib.api_support.encode): orjson, writing the same JSON that ninja's own
renderer (`json.dumps` with Django's encoder) wrote, except timestamps: every one is the hub's single
form, UTC with `Z` and milliseconds (hub.lib.jsonutil.timestamp, issue 21 §3), whatever its zone."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from ninja.responses import NinjaJSONEncoder

from hub.lib.api_support import encode


def ninja_json(data):
    return json.loads(json.dumps(data, cls=NinjaJSONEncoder))


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 26, 6, 9, 21, 549107, tzinfo=UTC),
    date(2026, 11, 26),
    timedelta(hours=36, seconds=5),
    Decimal("12.50"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    gettext_lazy("New"),
    "Trung tâm CNTT-TT Đắk Lắk",
    {"nested": [1, 2.5, None, True], 7: "an int key"},
])
def test_every_value_encodes_as_ninja_encoded_it(value):
    data = {"value": value, "list": [value]}
    assert json.loads(encode(data)) == ninja_json(data)


@pytest.mark.parametrize("value, written", [
    (datetime(2026, 11, 26, 6, 9, 21, 549107, tzinfo=UTC), "2026-11-26T06:09:21.549Z"),
    (datetime(2026, 11, 26, 6, 9, 21, tzinfo=UTC), "2026-11-26T06:09:21.000Z"),  # ninja wrote no fraction
    (datetime(2026, 11, 26, 13, 9, 21, tzinfo=timezone(timedelta(hours=7))), "2026-11-26T06:09:21.000Z"),  # in UTC
    (datetime(2026, 11, 26, 6, 9, 21, 500), "2026-11-26T06:09:21.000Z"),  # naive: taken as UTC
])
def test_datetimes_are_written_in_the_hubs_one_timestamp_format(value, written):
    from hub.lib.jsonutil import dumps, timestamp

    assert json.loads(encode({"at": value})) == {"at": written} == json.loads(dumps({"at": value}))
    assert timestamp(value) == written


def test_every_timestamp_is_written_in_utc_whatever_its_zone():
    hanoi = datetime(2026, 11, 26, 6, 9, 21, tzinfo=timezone(timedelta(hours=7)))
    assert encode({"at": hanoi}) == b'{"at":"2026-11-25T23:09:21.000Z"}'
    naive = datetime(2026, 11, 26, 6, 9, 21, 500)  # taken to be UTC
    assert encode([naive]) == b'["2026-11-26T06:09:21.000Z"]'


@pytest.mark.django_db
def test_errors_go_through_the_same_renderer(client):
    response = client.get("/api/v1/tickets", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["error"]["code"] == "token_invalid"
