"""`make bench-data`'s verdicts (bench/search_data.py)."""

from bench.search_data import export_verdict


def _export(rows: int, mib: float, peak_mib: float) -> dict:
    return {"rows": rows, "bytes": int(mib * 2**20), "rss_peak_kib": peak_mib * 1024, "status": 200}


def test_an_export_streams_in_constant_memory_when_its_peak_does_not_grow_with_its_size():
    # 7 December's figures: a first export costs the process ~+16 MiB whatever its size (modules,
    # catalogues, a chunk of rows); 20 times the rows add little more.
    line = export_verdict(_export(3_571, 0.8, 183.0), _export(100_000, 21.5, 184.6))
    assert line.startswith("PASS") and "+1.6 MiB" in line


def test_an_export_held_whole_misses():
    line = export_verdict(_export(3_571, 0.8, 183.0), _export(100_000, 21.5, 203.0))
    assert line.startswith("MISS")


def test_an_export_that_failed_misses():
    line = export_verdict(_export(3_571, 0.8, 183.0), {**_export(100_000, 21.5, 183.0), "status": 500})
    assert line.startswith("MISS")
