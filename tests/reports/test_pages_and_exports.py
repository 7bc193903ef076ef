"""Who may open the managers' views, what the pages and files contain (parsed back), and that nothing
restricted leaks through any of them."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from reports.exports import BOM

MARCH = "from=2025-03-01&to=2025-03-31"
SECRET = "bí mật nội bộ QB-7731"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def internal_note(network):
    """An internal comment of the target centre (QB) on T1: only QB and hub admins may read it."""
    from requests.models import Comment

    return Comment.objects.create(ticket=network.tickets["T1"], author=network.users["qb"], body=SECRET,
                                  html=f"<p>{SECRET}</p>", internal=True)


# --- access --------------------------------------------------------------------------------------------

MANAGER_URLS = [
    f"/dashboard/?{MARCH}",
    f"/dashboard/export.csv?{MARCH}",
    f"/dashboard/export.xlsx?{MARCH}",
    "/reports/cooperation/2025/",
    "/reports/cooperation/2025.pdf",
]


@pytest.mark.parametrize("url", MANAGER_URLS)
@pytest.mark.parametrize("who", ["ht", "ht_sec"])
def test_engineers_and_security_officers_get_403(network, url, who):
    assert signed_in(network.users[who]).get(url).status_code == 403


@pytest.mark.parametrize("url", MANAGER_URLS)
@pytest.mark.parametrize("who", ["qb_manager", "admin"])
def test_managers_and_hub_admins_get_the_views(network, url, who):
    assert signed_in(network.users[who]).get(url).status_code == 200


@pytest.mark.parametrize("url", [*MANAGER_URLS, "/tickets/export.csv"])
def test_anonymous_visitors_are_sent_to_the_login_page(network, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_api_dashboard_is_for_managers_only(network, api_client):
    denied = api_client(network.users["ht"]).get(f"/api/v1/dashboard?{MARCH}")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    assert api_client(network.users["ht"]).get("/api/v1/reports/cooperation/2025").status_code == 403
    assert Client().get("/api/v1/dashboard").status_code == 401


def test_api_dashboard_returns_the_tables(network, api_client):
    data = api_client(network.users["admin"]).get(f"/api/v1/dashboard?{MARCH}").json()
    assert data["filters"] == {"from": "2025-03-01", "to": "2025-03-31"}
    assert data["totals"]["open"] == 6
    keys = [t["key"] for t in data["tables"]]
    assert keys == ["open_by_status_centre", "open_by_category", "response_times", "sla", "alerts_by_centre",
                    "messages_by_topic_centre"]


def test_the_endpoints_are_in_the_openapi_document(network, api_client):
    paths = api_client(network.users["admin"]).get("/api/v1/schema").json()["paths"]
    assert "/api/v1/dashboard" in paths
    assert "/api/v1/reports/cooperation/{year}" in paths


def test_api_cooperation_report(network, api_client):
    data = api_client(network.users["admin"]).get("/api/v1/reports/cooperation/2025").json()
    assert data["network"]["made"] == 10
    assert data["previous"]["made"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=2025-02-30", "from"), ("to=x", "to"), ("centre=ZZ", "centre"), ("category=x", "category")],
)
def test_bad_filters_are_a_400_naming_the_parameter(network, api_client, query, field):
    response = api_client(network.users["admin"]).get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == [field]
    page = signed_in(network.users["admin"]).get(f"/dashboard/?{query}")
    assert page.status_code == 400
    assert field in page.content.decode()
    assert signed_in(network.users["admin"]).get(f"/dashboard/export.csv?{query}").status_code == 400


def test_unknown_export_format_is_404(network):
    client = signed_in(network.users["admin"])
    assert client.get("/dashboard/export.pdf").status_code == 404
    assert client.get("/tickets/export.json").status_code == 404


# --- the dashboard page --------------------------------------------------------------------------------


def test_dashboard_page_shows_tables_charts_and_drill_down_links(network):
    response = signed_in(network.users["admin"]).get(f"/dashboard/?{MARCH}&centre=DN", HTTP_ACCEPT_LANGUAGE="vi")
    html = response.content.decode()
    assert 'href="/tickets/?overdue=true&amp;centre=DN"' in html  # the overdue "—" cell of DN's view
    assert 'href="/dashboard/export.xlsx?from=2025-03-01&amp;to=2025-03-31&amp;centre=DN"' in html
    # The chart is drawn on the server: an SVG in the figure, its x labels the table's rows.
    figure = html.split('id="chart-open_by_status_centre">')[1].split("</figure>")[0]
    assert figure.startswith("<svg") and 'role="img"' in figure
    assert [label.split(">")[1] for label in figure.split('class="label"')[1:]] == ["HT</text", "—</text"]
    assert "<script>" not in html.replace('<script src=', '')  # no inline scripts (CSP)


def test_dashboard_page_is_vietnamese_by_default(network):
    html = signed_in(network.users["admin"]).get(f"/dashboard/?{MARCH}").content.decode()
    assert "Yêu cầu đang mở theo trạng thái và trung tâm tiếp nhận" in html


# --- exports -------------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    assert raw.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(raw.decode("utf-8").removeprefix(BOM))))


def test_dashboard_csv_has_every_table(network, english):
    client = signed_in(network.users["admin"])
    client.cookies["django_language"] = "en"  # the person chose English
    response = client.get(f"/dashboard/export.csv?{MARCH}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="dashboard-2025-03-01-2025-03-31.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    start = rows.index(["Time to accept and to resolve (hours)"])
    assert rows[start + 1][0] == "Centre"
    assert ["QB", "2", "3.0", "3.8", "2", "48.0", "67.2"] in rows
    assert ["Network", "5", "4.0", "7.2", "3", "72.0", "360.0"] in rows
    assert ["HT", "3", "6.0", "7.6", "0", "", ""] in rows


def test_dashboard_xlsx_has_one_sheet_per_table(network):
    response = signed_in(network.users["admin"]).get(f"/dashboard/export.xlsx?{MARCH}")
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 6
    sheet = book[book.sheetnames[0]]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Trung tâm tiếp nhận"  # Vietnamese header intact
    assert ["HT", 1, 1, 1, 0, 1, 4, 2] in rows


def test_ticket_export_csv_lists_only_visible_tickets_with_vietnamese_intact(network):
    response = signed_in(network.users["qb_manager"]).get("/tickets/export.csv?sort=created_at")
    rows = read_csv(response)
    references = [r[0] for r in rows[1:]]
    # QB's own (requested or targeted) tickets and those still open to any centre; never T7 (HT→DN)
    # nor T10 (DN→HT)
    assert references == ["HT-2024-T0", "HT-2025-T1", "HT-2025-T2", "QB-2025-T3", "DN-2025-T4", "DN-2025-T5",
                          "QB-2025-T6", "QB-2025-T8", "HT-2025-T9"]
    assert rows[1][1] == "Yêu cầu T0 — hỗ trợ an toàn"
    assert rows[0][0] == "Mã yêu cầu"


def test_ticket_export_follows_the_list_filters(network):
    response = signed_in(network.users["admin"]).get("/tickets/export.xlsx?status=new&centre=DN&sort=created_at")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.streaming  # sent while it is written (tests/reports/test_exports_stream.py)
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [r[0] for r in rows[1:]] == ["DN-2025-T4", "DN-2025-T5"]
    assert rows[1][1] == "Yêu cầu T4 — hỗ trợ an toàn"
    assert rows[2][11] == "có"  # T5 is overdue
    assert str(rows[1][-1]).endswith(f"/tickets/{network.tickets['T4'].pk}/")


@pytest.mark.parametrize(("query", "name"), [("status=done", "status"), ("overdue=maybe", "overdue"),
                                             ("sort=title", "sort")])
def test_ticket_export_rejects_bad_filters(network, query, name):
    response = signed_in(network.users["admin"]).get(f"/tickets/export.csv?{query}")
    assert response.status_code == 400
    assert name in response.content.decode()


# --- nothing restricted leaks ----------------------------------------------------------------------------


def test_no_internal_comment_or_foreign_red_alert_in_any_view_of_another_centre(network, internal_note):
    """HT's manager sees network aggregates but never QB's internal note; QB's manager never learns of
    DN's TLP:RED alert (shared with HT only)."""
    ht = signed_in(network.users["ht_manager"])
    for url in [f"/dashboard/?{MARCH}", f"/dashboard/export.csv?{MARCH}", "/reports/cooperation/2025/",
                "/tickets/export.csv", f"/api/v1/dashboard?{MARCH}"]:
        response = ht.get(url)
        body = response.getvalue()  # a streamed export's parts joined
        assert SECRET not in body.decode("utf-8"), url
    qb = signed_in(network.users["qb_manager"])
    report = qb.get("/reports/cooperation/2025/").content.decode()
    assert "Cảnh báo A3" not in report
    data = qb.get(f"/api/v1/dashboard?{MARCH}").json()
    alerts = next(t for t in data["tables"] if t["key"] == "alerts_by_centre")
    assert alerts["rows"][-1][1] == 2  # A1 and A2 only


def test_cooperation_page_is_printable_and_links_the_pdf(network):
    html = signed_in(network.users["qb_manager"]).get("/reports/cooperation/2025/").content.decode()
    assert 'href="/reports/cooperation/2025.pdf"' in html
    assert "/static/reports/reports.css" in html
    assert "Báo cáo hợp tác giữa các trung tâm năm 2025" in html


def test_cooperation_pdf_download(network):
    response = signed_in(network.users["admin"]).get("/reports/cooperation/2025.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert 'filename="cooperation-report-2025.pdf"' in response["Content-Disposition"]


def test_an_implausible_year_is_404(network):
    assert signed_in(network.users["admin"]).get("/reports/cooperation/1800/").status_code == 404
