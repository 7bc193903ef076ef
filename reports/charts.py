"""Charts drawn on the server as SVG, the same drawing for the dashboard, the HTML report and the PDF.

Why not a JavaScript library: the PDF (xhtml2pdf, no browser) must carry the same charts, and
xhtml2pdf draws an SVG image as vectors through svglib. One builder therefore serves every output,
and its axes obey the hub's rules: counts get integer ticks only (never "2.5 requests"), every
number on an axis is formatted in the viewer's language (``format_number``), labels come translated
from the table they illustrate.

A chart spec (``Table.chart``) is ``{"type": "bar", "stacked": bool, "integer": bool, "labels": [...],
"datasets": [{"label": str, "data": [numbers or None]}]}``.
"""

from __future__ import annotations

import base64
import math
from typing import Any
from xml.sax.saxutils import escape

from django.utils.formats import get_format
from django.utils.numberformat import format as numberformat

PALETTE = ("#0b5394", "#b34700", "#2e7d32", "#8a6100", "#6a1b9a", "#00838f", "#a00000", "#5d4037",
           "#37474f", "#ad1457", "#1565c0", "#558b2f", "#ef6c00", "#4527a0", "#00695c", "#9e9d24")
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP = 56, 12, 12
PLOT_BOTTOM = 212  # x labels below, then the legend
FONT = "DejaVu Sans, sans-serif"


def format_number(value: Any) -> str:
    """A figure in the active language: "1.234" / "12,5" in Vietnamese, "1,234" / "12.5" in English.
    Counts (ints, and floats with nothing after the point) never show a decimal, so a column never
    reads "131,0" beside "145". Django's own vi format has no grouping, hence the explicit 3."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    decimals = 0 if float(value).is_integer() else 1
    return numberformat(round(value, decimals) if decimals else int(value), str(get_format("DECIMAL_SEPARATOR")),
                        decimal_pos=decimals, grouping=3, thousand_sep=str(get_format("THOUSAND_SEPARATOR")),
                        force_grouping=True)


def nice_step(raw: float, *, integer: bool) -> float:
    """The smallest 1, 2 or 5 × 10^k at least `raw` — an integer (≥ 1) for counts."""
    if raw <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        step = factor * magnitude
        if step >= raw - 1e-12:
            break
    if integer:
        return max(1, round(step))
    return step


def ticks(maximum: float, *, integer: bool = True, target: int = 5) -> list[float]:
    """Axis ticks from 0 to at least `maximum`, about `target` intervals. Integers for counts, even when
    the counts are small (a maximum of 3 gives 0, 1, 2, 3 — not 0, 0.5, … 3)."""
    if maximum <= 0:
        return [0, 1]
    step = nice_step(maximum / target, integer=integer)
    count = math.ceil(maximum / step - 1e-9)
    values = [i * step for i in range(count + 1)]
    if integer:
        return [int(round(v)) for v in values]
    return [round(v, 10) for v in values]


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def render_svg(spec: dict[str, Any], title: str) -> str:
    """The chart of `spec` as a standalone SVG document (absolute size; the page's CSS scales it)."""
    labels = [str(label) for label in spec.get("labels", [])]
    datasets: list[dict[str, Any]] = [{"label": str(d["label"]), "data": [v or 0 for v in d["data"]]}
                                      for d in spec.get("datasets", [])]
    stacked = bool(spec.get("stacked"))
    integer = bool(spec.get("integer", True))
    if stacked:
        maximum = max((sum(d["data"][i] for d in datasets) for i in range(len(labels))), default=0)
    else:
        maximum = max((v for d in datasets for v in d["data"]), default=0)
    axis = ticks(maximum, integer=integer)
    top_value = axis[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, PLOT_BOTTOM - TOP

    def y(value: float) -> float:
        return PLOT_BOTTOM - plot_h * value / top_value

    label_attr = escape(title, {'"': "&quot;"})
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label_attr}" '
        f'font-family="{FONT}" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for value in axis:
        yy = _num(y(value))
        parts.append(f'<line x1="{LEFT}" y1="{yy}" x2="{WIDTH - RIGHT}" y2="{yy}" stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{_num(y(value) + 4)}" text-anchor="end" '
                     f'fill="#333333">{escape(format_number(value))}</text>')
    group_w = plot_w / max(len(labels), 1)
    bar_area = group_w * 0.7
    bars_per_group = 1 if stacked else max(len(datasets), 1)
    bar_w = bar_area / bars_per_group
    label_limit = max(4, int(group_w / 7))
    for i, label in enumerate(labels):
        x0 = LEFT + i * group_w + (group_w - bar_area) / 2
        base = 0.0
        for j, dataset in enumerate(datasets):
            value = dataset["data"][i] if i < len(dataset["data"]) else 0
            if not value:
                continue
            colour = PALETTE[j % len(PALETTE)]
            x = x0 if stacked else x0 + j * bar_w
            low, high = (base, base + value) if stacked else (0, value)
            tooltip = escape(f"{label} · {dataset['label']}: {format_number(value)}")
            parts.append(
                f'<rect x="{_num(x)}" y="{_num(y(high))}" width="{_num(max(bar_w - 1, 1))}" '
                f'height="{_num(y(low) - y(high))}" fill="{colour}"><title>{tooltip}</title></rect>'
            )
            base = high if stacked else base
        parts.append(f'<text class="label" x="{_num(LEFT + i * group_w + group_w / 2)}" y="{PLOT_BOTTOM + 15}" '
                     f'text-anchor="middle" fill="#111111">{escape(_short(label, label_limit))}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{PLOT_BOTTOM}" x2="{WIDTH - RIGHT}" y2="{PLOT_BOTTOM}" '
                 f'stroke="#555555" stroke-width="1"/>')
    # Legend: rows of colour squares and dataset names under the labels.
    x, row_y = LEFT, PLOT_BOTTOM + 38
    for j, dataset in enumerate(datasets):
        name = _short(dataset["label"], 28)
        width = 22 + 7 * len(name)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row_y = LEFT, row_y + 18
        parts.append(f'<rect x="{_num(x)}" y="{row_y - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text class="legend" x="{_num(x + 14)}" y="{row_y}" fill="#111111">{escape(name)}</text>')
        x += width + 12
    parts.append("</svg>")
    return "".join(parts)


def has_data(spec: dict[str, Any] | None) -> bool:
    """Whether a chart would show anything: an all-zero chart is only an empty frame, so the table
    beside it says it alone."""
    if not spec:
        return False
    return any(value for d in spec.get("datasets", []) for value in d["data"])


def data_uri(svg: str) -> str:
    """The SVG as an image address for xhtml2pdf (which draws it through svglib)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
