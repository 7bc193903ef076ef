"""Request exports stream in constant memory (issue 27, target 5): both formats are streaming
responses whose pieces are made while the rows are read, the XLSX workbook included, and the memory
a workbook takes does not grow with its rows."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from openpyxl import load_workbook

from reports.exports import xlsx_stream


def rows(n: int, read: list[int]) -> Iterator[list]:
    """`n` rows like an export's (text, a number, a date, an empty cell), counting what was read."""
    when = datetime(2025, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    for i in range(n):
        read[0] += 1
        yield [f"HT-2025-{i:05d}", f"Yêu cầu hỗ trợ số {i} — rà soát lỗ hổng", i, when, None]


def test_an_xlsx_piece_leaves_before_the_rows_are_all_read():
    read = [0]
    pieces = xlsx_stream([("Yêu cầu", ["Mã", "Tiêu đề", "Số", "Ngày", "Trống"], rows(5_000, read))],
                         rows_per_piece=500)
    first = next(pieces)
    assert first.startswith(b"PK")  # the archive's first member is on its way …
    assert read[0] == 500  # … after 500 of the 5,000 rows, not after all of them
    rest = list(pieces)
    assert read[0] == 5_000 and len(rest) >= 9


def test_the_streamed_workbook_reads_back_with_its_types():
    read = [0]
    data = b"".join(xlsx_stream([("Yêu cầu", ["Mã", "=Tiêu đề", "Số", "Ngày", "Trống"], rows(3, read)),
                                 ("Khác", ["x"], [["=1+1"], ["@SUM(A1)"], [2.5]])]))
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Yêu cầu", "Khác"]
    sheet = book["Yêu cầu"]
    header, first = list(sheet.iter_rows(min_row=1, max_row=2))
    assert [c.value for c in header] == ["Mã", "=Tiêu đề", "Số", "Ngày", "Trống"]
    assert all(c.font.b and c.data_type == "s" for c in header)
    assert first[0].value == "HT-2025-00000" and first[0].data_type == "s"
    assert first[1].value == "Yêu cầu hỗ trợ số 0 — rà soát lỗ hổng"
    assert first[2].value == 0 and first[2].data_type == "n"
    assert first[3].data_type == "d" and first[3].value == datetime(2025, 3, 1, 9, 30)  # local time, no zone
    other = [c for row in book["Khác"].iter_rows(min_row=2) for c in row]
    assert [c.value for c in other] == ["=1+1", "@SUM(A1)", 2.5]
    assert [c.data_type for c in other] == ["s", "s", "n"]  # text, never a formula
    assert [c.quotePrefix for c in other[:2]] == [True, True]


def _peak_kib(n: int) -> float:
    read = [0]
    tracemalloc.start()
    try:
        for _piece in xlsx_stream([("s", ["a", "b", "c", "d", "e"], rows(n, read))]):
            pass
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def test_a_workbook_takes_the_same_memory_for_ten_times_the_rows():
    small, large = _peak_kib(2_000), _peak_kib(20_000)
    assert large < 1.3 * small, (small, large)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_request_export_is_a_streaming_response_in_several_pieces(db, make_user, fmt):
    from hub.models import Centre
    from requests.models import Ticket

    user = make_user("ht.admin", "HT", "hub_admin")
    centre = Centre.objects.get(code="HT")
    Ticket.objects.bulk_create(
        Ticket(reference=f"HT-2025-{i:04d}", title=f"Yêu cầu {i}", category="security", requesting_centre=centre,
               requested_by=user, due_at=datetime(2100, 1, 1, tzinfo=ZoneInfo("UTC")))
        for i in range(1_200))
    client = Client()
    client.force_login(user)
    response = client.get(f"/tickets/export.{fmt}")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    pieces = list(response.streaming_content)
    assert len(pieces) >= 3  # 500 rows a piece, then the end
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(b"".join(pieces))).active
        assert sheet is not None and sheet.max_row == 1_201
