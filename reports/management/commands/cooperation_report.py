"""`python manage.py cooperation_report YEAR [--pdf out.pdf] [--html out.html] [--lang vi|en]`

Prints the yearly cooperation report as text tables (and writes the PDF / printable HTML when asked).
It is the hub's own complete view, for the standing office: every alert is counted, TLP:RED included
(the web page counts only what the signed-in manager may see).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import translation

from hub.errors import HubError
from reports.charts import format_number
from reports.pdf import render_pdf
from reports.selectors import Table, cooperation_report


def _text(value) -> str:
    """Figures as on the pages: in the report's language, a whole number without a decimal."""
    return format_number(value)


def format_table(table: Table) -> str:
    rows = [[str(c) for c in table.columns], *[[_text(v) for v in row] for row in table.rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.columns))]
    lines = [table.title, "=" * len(table.title)]
    for n, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(cells)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print (and optionally write as PDF/HTML) the yearly inter-centre cooperation report."

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", type=int)
        parser.add_argument("--pdf", metavar="FILE", help="write the report as PDF to FILE")
        parser.add_argument("--html", metavar="FILE", help="write the printable HTML to FILE")
        parser.add_argument("--lang", choices=["vi", "en"], default="vi", help="language (default: vi)")

    def handle(self, *args, **options) -> None:
        with translation.override(options["lang"]):
            try:
                report = cooperation_report(options["year"])
            except HubError as error:
                raise CommandError(error.render()) from error
            for table in report.tables():
                self.stdout.write(format_table(table) + "\n\n")
            if options["pdf"]:
                Path(options["pdf"]).write_bytes(render_pdf(report))
                self.stdout.write(f"PDF: {options['pdf']}")
            if options["html"]:
                html = render_to_string("reports/cooperation_pdf.html", {"report": report, "tables": report.tables(),
                                                                         "fonts": "fonts"})
                Path(options["html"]).write_text(html, encoding="utf-8")
                self.stdout.write(f"HTML: {options['html']}")
