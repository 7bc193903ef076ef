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


def render_pdf(report) -> bytes:
    html = render_to_string("reports/cooperation_pdf.html", {"report": report, "tables": report.tables(),
                                                              "fonts": FONTS})
    buffer = io.BytesIO()
    result = pisa.CreatePDF(html, dest=buffer, link_callback=_link_callback, encoding="utf-8")
    if result.err:
        raise RuntimeError(f"PDF rendering failed ({result.err} errors)")
    return buffer.getvalue()
