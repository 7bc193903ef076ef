"""The server-drawn charts and the figures around them: integer axes for counts, numbers in the
viewer's language, the same charts in the HTML and PDF report, the PDF's title, year links."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.utils import translation
from pypdf import PdfReader

from reports.charts import format_number, render_svg, ticks

# --- the chart builder -------------------------------------------------------------------------------


@pytest.mark.parametrize("maximum", [1, 2, 3, 4, 7, 9, 13, 131, 999, 12_345, 987_654])
def test_count_axes_have_integer_ticks_from_zero_past_the_maximum(maximum):
    axis = ticks(maximum, integer=True)
    assert all(type(t) is int for t in axis)
    assert axis[0] == 0 and axis[-1] >= maximum
    steps = {b - a for a, b in zip(axis, axis[1:], strict=False)}
    assert len(steps) == 1 and steps.pop() >= 1
    assert 2 <= len(axis) <= 7


def test_small_counts_step_by_one_and_large_counts_by_round_numbers():
    assert ticks(3) == [0, 1, 2, 3]
    assert ticks(0) == [0, 1]
    assert ticks(131) == [0, 50, 100, 150]
    assert ticks(12_345) == [0, 5000, 10_000, 15_000]


def test_hours_may_have_fractional_ticks():
    assert ticks(2.4, integer=False) == [0, 0.5, 1, 1.5, 2, 2.5]


def tick_labels(svg: str) -> list[str]:
    return re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', svg)


SPEC = {"type": "bar", "integer": True, "labels": ["HT", "Trung tâm Quảng Bình"],
        "datasets": [{"label": "Đã tiếp nhận", "data": [3, 1]}, {"label": "Quá hạn", "data": [0, 2]}]}


def test_a_small_count_chart_labels_its_axis_0_1_2_3():
    svg = render_svg(SPEC, "Yêu cầu")
    assert tick_labels(svg) == ["0", "1", "2", "3"]
    assert "Đã tiếp nhận" in svg and "Quá hạn" in svg  # the legend, translated by the caller
    assert "<title>Yêu cầu</title>" in svg


@pytest.mark.parametrize(("language", "expected"), [("vi", ["0", "500", "1.000", "1.500"]),
                                                      ("en", ["0", "500", "1,000", "1,500"])])
def test_axis_numbers_follow_the_language(language, expected):
    spec = {**SPEC, "datasets": [{"label": "n", "data": [1234, 5]}]}
    with translation.override(language):
        assert tick_labels(render_svg(spec, "t")) == expected


def test_labels_and_titles_are_escaped():
    svg = render_svg({**SPEC, "labels": ["<b>&", "x"]}, 'a "quoted" <title>')
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    assert 'aria-label="a &quot;quoted&quot; &lt;title&gt;"' in svg


@pytest.mark.parametrize(("language", "value", "text"), [
    ("vi", 1234, "1.234"), ("en", 1234, "1,234"), ("vi", 131.0, "131"), ("en", 131.0, "131"),
    ("vi", 12.5, "12,5"), ("en", 12.5, "12.5"), ("vi", None, "—"),
])
def test_figures_are_formatted_for_the_viewer(language, value, text):
    with translation.override(language):
        assert format_number(value) == text


# --- pages and PDF ---------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_cooperation_pdf_has_a_title_and_the_charts(network, caplog):
    pdf = signed_in(network.users["admin"]).get("/reports/cooperation/2025.pdf", HTTP_ACCEPT_LANGUAGE="vi").content
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "Báo cáo hợp tác giữa các trung tâm năm 2025"
    assert not [r.message for r in caplog.records if "No font" in r.message]  # every text in DejaVu
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Each chart is drawn as vectors with its own texts, in DejaVu (Vietnamese intact): integer ticks
    # from 0, then the centres as x labels, then the legend — the requests chart, then the alerts one.
    assert re.search(r"Yêu cầu hỗ trợ\n0\n1\n2\n3\n4\nDN\nHT\nNA\nQB\n"
                     r"Đã gửi\nĐã nhận\nĐã tiếp nhận\nĐã giải quyết", text)
    assert re.search(r"Cảnh báo an toàn thông tin\n0\n1\n2\nDN\nHT\nNA\nQB\nĐã phát\nĐã xác nhận", text)
    drawn = 0
    for page in reader.pages:
        contents = page.get_contents()
        assert contents is not None
        drawn += len(re.findall(rb"\bre\b", contents.get_data()))
    assert drawn >= 10  # the bars are rectangles


def test_html_report_draws_its_charts_and_formats_numbers(network):
    response = signed_in(network.users["admin"]).get("/reports/cooperation/2025/", HTTP_ACCEPT_LANGUAGE="vi")
    html = response.content.decode()
    for key in ("requests", "alerts", "participation"):
        assert f'id="chart-{key}"><svg' in html
    assert not re.search(r">\d+,0<", html)  # no count or whole number with a decimal


def test_year_links_only_for_years_with_data(network):
    client = signed_in(network.users["admin"])
    dashboard = client.get("/dashboard/").content.decode()
    years = re.findall(r'href="/reports/cooperation/(\d{4})/"', dashboard)
    assert years == ["2025", "2024"]  # the fixture's data: 2025, and T0 in June 2024
    report = client.get("/reports/cooperation/2025/").content.decode()
    assert 'href="/reports/cooperation/2024/"' in report
    assert 'href="/reports/cooperation/2026/"' not in report
    earliest = client.get("/reports/cooperation/2024/").content.decode()
    assert 'href="/reports/cooperation/2023/"' not in earliest
    assert 'href="/reports/cooperation/2025/"' in earliest


@pytest.mark.parametrize("extra_topics", [0, 12, 24])
def test_no_pdf_page_ends_with_a_heading(network, extra_topics):
    """Whatever the length of the tables before it, a section's heading starts the page its chart and
    table are on: the last line of every page is never a heading."""
    from chat.models import Topic
    from reports.pdf import render_pdf
    from reports.selectors import cooperation_report

    Topic.objects.bulk_create([Topic(slug=f"chu-de-{i:02d}", name_vi=f"Chủ đề {i}", name_en=f"Topic {i}")
                               for i in range(extra_topics)])
    with translation.override("vi"):
        report = cooperation_report(2025)
        headings = {str(t.title) for t in report.tables()} | {"Tổng toàn mạng lưới"}
        pdf = render_pdf(report)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        assert lines[-1] not in headings, f"page {number} ends with the heading {lines[-1]!r}"


def test_an_all_zero_chart_is_left_out_and_the_table_stays(network):
    from reports.charts import has_data

    assert not has_data({"datasets": [{"label": "n", "data": [0, 0, None]}]})
    assert has_data(SPEC)
    response = signed_in(network.users["admin"]).get("/dashboard/?from=2030-01-01&to=2030-01-31")
    html = response.content.decode()
    assert 'id="chart-alerts_by_centre"' not in html  # nothing raised in that month
    assert 'id="table-alerts_by_centre"' in html


# --- the tables' rows --------------------------------------------------------------------------------

# The rows as the template language rendered them, cell by cell, before `{% table_rows %}`.
CELL_BY_CELL = (
    '{% load reports_tags %}{% for row in table.cells %}<tr>{% for value, link in row %}{% if forloop.first %}'
    '<th scope="row">{{ value }}</th>{% else %}<td class="num">{% if value is None %}—{% elif link and value %}'
    '<a href="{{ link }}">{{ value|num }}</a>{% else %}{{ value|num }}{% endif %}</td>{% endif %}{% endfor %}</tr>\n'
    "  {% endfor %}")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_table_rows_are_the_cell_by_cell_markup(language):
    """`{% table_rows %}` writes in one pass what the template wrote cell by cell: row headers
    (escaped, lazy translations and numbers as the template shows them), figures in the viewer's
    language, a link on a non-zero figure that has one, a dash for None, zero without its link."""
    from django.template import Context, Template
    from django.utils.translation import gettext_lazy

    from reports.selectors import Table

    table = Table(key="t", title="T", columns=["Centre", "A", "B", "C"], rows=[
        ["HT <b>&</b>", 1234, 0, None],
        [gettext_lazy("Network"), 12.5, 1_234_567, 0.0],
        [2025, -3, 7.25, 100.0],
    ], links=[
        [None, "/tickets/?status=new&centre=HT", "/tickets/?status=new", None],
        [None, None, '/tickets/?q="x"<y>', "/tickets/?a=1"],
        [None, None, None, None],
    ])
    with translation.override(language):
        expected = Template(CELL_BY_CELL).render(Context({"table": table}))
        got = Template("{% load reports_tags %}{% table_rows table %}").render(Context({"table": table}))
    assert got == expected
    assert "HT &lt;b&gt;&amp;&lt;/b&gt;" in got and "&quot;x&quot;&lt;y&gt;" in got
    table.links = None
    with translation.override(language):
        assert (Template("{% load reports_tags %}{% table_rows table %}").render(Context({"table": table}))
                == Template(CELL_BY_CELL).render(Context({"table": table})))
