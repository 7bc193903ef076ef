"""Template filters of the reports: figures in the viewer's language and the server-drawn charts."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from reports import charts

register = template.Library()


@register.filter
def num(value: Any) -> str:
    """`{{ value|num }}`: a count or a figure formatted for the active language (see charts.format_number)."""
    return charts.format_number(value)


@register.filter
def has_chart(table: Any) -> bool:
    """`{% if table|has_chart %}`: the table has a chart with something to show."""
    return bool(table.rows) and charts.has_data(table.chart)


@register.filter
def chart_svg(table: Any) -> SafeString:
    """`{{ table|chart_svg }}`: the table's chart as inline SVG (every text in it is XML-escaped)."""
    if not has_chart(table):
        return mark_safe("")  # noqa: S308 — an empty string
    return mark_safe(charts.render_svg(table.chart, str(table.title)))  # noqa: S308 — built with escape()


@register.filter
def chart_src(table: Any) -> str:
    """`{{ table|chart_src }}`: the same chart as a data: address, for the PDF's <img>."""
    if not has_chart(table):
        return ""
    return charts.data_uri(charts.render_svg(table.chart, str(table.title)))


@register.simple_tag(takes_context=True)
def table_rows(context: template.Context, table: Any) -> SafeString:
    """`{% table_rows table %}`: the table's body rows — the first cell a row header, the others
    figures (`num`), a figure with a link (`Table.links`) a link unless it is zero, None a dash —
    each followed by the template's own line break. Built in one pass rather than cell by cell in
    the template language, which took ~25 ms of the dashboard's page for its ~1,000 cells
    (docs/benchmarks.md, issue 27 target 5); the markup is the same, escaped the same way."""
    out = []
    for row in table.cells():
        out.append("<tr>")
        for index, (value, link) in enumerate(row):
            if index == 0:
                out.append(f'<th scope="row">{render_value_in_context(value, context)}</th>')
            elif value is None:
                out.append('<td class="num">—</td>')
            elif link and value:
                out.append(f'<td class="num"><a href="{conditional_escape(link)}">'
                           f"{conditional_escape(charts.format_number(value))}</a></td>")
            else:
                out.append(f'<td class="num">{conditional_escape(charts.format_number(value))}</td>')
        out.append("</tr>\n  ")
    return mark_safe("".join(out))  # noqa: S308 — every value and link escaped above
