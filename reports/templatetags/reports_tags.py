"""Template filters of the reports: figures in the viewer's language and the server-drawn charts."""

from __future__ import annotations

from typing import Any

from django import template
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
