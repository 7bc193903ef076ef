"""HTML → PDF without a browser: xhtml2pdf (ReportLab underneath).

ReportLab's built-in fonts are Latin-1 only, so Vietnamese letters (ư, ạ, ế …) would come out as
black boxes. The report therefore embeds DejaVu Sans, shipped in `reports/fonts/` so the PDF is the
same on any machine, declared with `@font-face` and resolved by `link_callback` below.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.template.loader import render_to_string
from xhtml2pdf import pisa

FONTS = Path(__file__).resolve().parent / "fonts"


def _link_callback(uri: str, rel: str) -> str:
    """Only our own font files may be fetched while rendering (never a URL from the data)."""
    name = Path(uri).name
    candidate = FONTS / name
    if candidate.suffix == ".ttf" and candidate.is_file():
        return str(candidate)
    return ""


def _register_chart_font() -> None:
    """The charts are SVG drawn by svglib, which resolves `font-family` on its own: give it DejaVu
    too, or the Vietnamese in axis labels and legends would fall back to Latin-1 Helvetica."""
    from svglib.fonts import register_font

    register_font("DejaVu Sans", str(FONTS / "DejaVuSans.ttf"))
    register_font("DejaVu Sans", str(FONTS / "DejaVuSans-Bold.ttf"), weight="bold")


def render_pdf(report) -> bytes:
    _register_chart_font()
    html = render_to_string("reports/cooperation_pdf.html", {"report": report, "tables": report.tables(),
                                                              "fonts": FONTS, "pdf": True})
    buffer = io.BytesIO()
    result = pisa.CreatePDF(html, dest=buffer, link_callback=_link_callback, encoding="utf-8")
    if result.err:
        raise RuntimeError(f"PDF rendering failed ({result.err} errors)")
    return buffer.getvalue()
