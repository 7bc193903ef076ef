"""Every dashboard figure against values computed by hand from the network in conftest.py."""

from __future__ import annotations

from datetime import date

import pytest

from hub.errors import HubError
from reports.selectors import DashboardFilters, dashboard, parse_filters


def rows_by_first(table) -> dict:
    return {row[0]: row[1:] for row in table.rows}


def test_open_requests_by_status_and_target_centre(network, march, english):
    board = dashboard(network.users["admin"], march)
    table = board.table("open_by_status_centre")
    # columns: new, accepted, in_progress, waiting, reopened, total, overdue
    assert rows_by_first(table) == {
        "HT": [1, 1, 1, 0, 1, 4, 2],  # T8 new (overdue), T10 accepted, T3 in progress (overdue), T6 reopened
        "—": [2, 0, 0, 0, 0, 2, 1],  # T4, T5 (overdue): addressed to any centre
    }
    assert board.totals["open"] == 6
    assert board.totals["overdue"] == 3


def test_status_cells_drill_down_to_the_ticket_list(network, march, english):
    table = dashboard(network.users["admin"], march).table("open_by_status_centre")
    assert table.links is not None
    ht = table.links[[r[0] for r in table.rows].index("HT")]
    assert ht[1] == "/tickets/?status=new&centre=HT"
    assert ht[6] == "/tickets/?status=new%2Caccepted%2Cin_progress%2Cwaiting_for_requester%2Creopened&centre=HT"
    assert ht[7] == "/tickets/?overdue=true&centre=HT"


def test_open_requests_by_category(network, march, english):
    table = dashboard(network.users["admin"], march).table("open_by_category")
    assert rows_by_first(table) == {
        "Information security": [2, 1],  # T5 (overdue), T6
        "Training and certification": [1, 1],  # T3
        "Project consulting": [2, 0],  # T4, T10
        "Other": [1, 1],  # T8
    }


def test_times_to_accept_and_resolve_per_centre(network, march, english):
    table = dashboard(network.users["admin"], march).table("response_times")
    # accepted, median, p90 (hours); resolved, median, p90
    assert rows_by_first(table) == {
        # T1 2h, T2 4h accepted; T1 24h, T2 72h (its LAST resolution after reopening)
        "QB": [2, 3.0, 3.8, 2, 48.0, 67.2],
        # T3 1h, T10 6h, T6 8h accepted; T6 was reopened and is not resolved: no resolution time
        "HT": [3, 6.0, 7.6, 0, None, None],
        # T7 was accepted in February (outside the period) and resolved in March after 18 days
        "DN": [0, None, None, 1, 432.0, 432.0],
        "Network": [5, 4.0, 7.2, 3, 72.0, 360.0],
    }


def test_period_limits_the_times(network, english):
    feb = DashboardFilters(start=date(2025, 2, 1), end=date(2025, 2, 28))
    table = dashboard(network.users["admin"], feb).table("response_times")
    assert rows_by_first(table) == {"DN": [1, 3.0, 3.0, 0, None, None], "Network": [1, 3.0, 3.0, 0, None, None]}


def test_centre_filter_means_requesting_or_target_centre(network, march, english):
    board = dashboard(network.users["admin"], DashboardFilters(march.start, march.end, centre="DN"))
    # DN's tickets: T4, T5 (requested, any centre), T7 (target), T10 (requested, HT accepted)
    assert rows_by_first(board.table("open_by_status_centre")) == {
        "HT": [0, 1, 0, 0, 0, 1, 0],
        "—": [2, 0, 0, 0, 0, 2, 1],
    }
    assert rows_by_first(board.table("response_times")) == {
        "HT": [1, 6.0, 6.0, 0, None, None],
        "DN": [0, None, None, 1, 432.0, 432.0],
        "Network": [1, 6.0, 6.0, 1, 432.0, 432.0],
    }


def test_category_filter(network, march, english):
    board = dashboard(network.users["admin"], DashboardFilters(march.start, march.end, category="security"))
    assert rows_by_first(board.table("open_by_status_centre")) == {
        "HT": [0, 0, 0, 0, 1, 1, 0],
        "—": [1, 0, 0, 0, 0, 1, 1],
    }
    assert rows_by_first(board.table("response_times"))["QB"] == [1, 2.0, 2.0, 1, 24.0, 24.0]


def test_alerts_and_acknowledgement_times_for_a_hub_admin(network, march, english):
    table = dashboard(network.users["admin"], march).table("alerts_by_centre")
    # raised, expected, acknowledged, not acknowledged, median h, p90 h
    assert rows_by_first(table) == {
        "DN": [1, 2, 1, 1, 3.0, 3.0],
        "HT": [1, 2, 2, 0, 3.0, 3.8],
        "NA": [0, 2, 0, 2, None, None],
        "QB": [1, 1, 1, 0, 1.0, 1.0],
        "Network": [3, 7, 4, 3, 2.5, 3.7],
    }


def test_a_manager_does_not_count_red_alerts_of_other_centres(network, march, english):
    table = dashboard(network.users["qb_manager"], march).table("alerts_by_centre")
    assert rows_by_first(table) == {
        "DN": [0, 2, 1, 1, 3.0, 3.0],
        "HT": [1, 1, 1, 0, 2.0, 2.0],
        "NA": [0, 2, 0, 2, None, None],
        "QB": [1, 1, 1, 0, 1.0, 1.0],
        "Network": [2, 6, 3, 3, 2.0, 2.8],
    }
    # HT's manager is among the TLP:RED alert's centres and counts it.
    ht_view = rows_by_first(dashboard(network.users["ht_manager"], march).table("alerts_by_centre"))
    assert ht_view["Network"] == [3, 7, 4, 3, 2.5, 3.7]


def test_message_activity_per_topic_and_centre(network, march, english):
    admin = dashboard(network.users["admin"], march).table("messages_by_topic_centre")
    assert admin.columns[1:] == ["HT", "QB", "Total"]
    # deleted messages and February are not counted; the restricted channel only for who may see it
    assert rows_by_first(admin) == {"Information security": [3, 1, 4], "Restricted channel": [1, 0, 1]}
    qb = dashboard(network.users["qb_manager"], march).table("messages_by_topic_centre")
    # the message addressed to HT only is not counted for QB's manager
    assert rows_by_first(qb) == {"Information security": [2, 1, 3]}
    ht = dashboard(network.users["ht_manager"], march).table("messages_by_topic_centre")
    assert rows_by_first(ht) == {"Information security": [3, 1, 4]}


def test_an_empty_period_gives_zeros_not_errors(network, english):
    empty = DashboardFilters(start=date(2023, 1, 1), end=date(2023, 12, 31))
    board = dashboard(network.users["admin"], empty)
    assert rows_by_first(board.table("response_times")) == {"Network": [0, None, None, 0, None, None]}
    assert rows_by_first(board.table("alerts_by_centre")) == {"Network": [0, 0, 0, 0, None, None]}
    assert board.totals["messages"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"from": "2025-03-10", "to": "2025-03-01"}, "from"),
        ({"centre": "XX"}, "centre"),
        ({"category": "cooking"}, "category"),
    ],
)
def test_invalid_filters_are_rejected_naming_the_parameter(db, params, field):
    with pytest.raises(HubError) as caught:
        parse_filters(params)
    assert caught.value.http_status == 400
    assert caught.value.fields == [field]


def test_default_period_is_the_last_90_days(db):
    filters = parse_filters({}, today=date(2025, 3, 31))
    assert (filters.start, filters.end) == (date(2025, 1, 1), date(2025, 3, 31))


def test_percentiles_are_percentile_cont_with_ties_nulls_and_single_values(db):
    """One grouped query gives every fraction (PostgreSQL: one `percentile_cont(float8[])`, SQLite:
    window functions) — the definition is PostgreSQL's `percentile_cont`: linear interpolation between
    the two closest ranks. A group whose values are all NULL is left out; NULLs elsewhere are skipped."""
    from django.db.models import FloatField, Value
    from django.db.models.functions import Cast, Left, NullIf

    from hub.models import Centre
    from reports.aggregates import percentiles_by_group, percentiles_with_total

    values = {"X": ["3", "1", "2", "2", ""], "Y": ["7"], "Z": [""]}
    for letter, vals in values.items():
        for i, value in enumerate(vals):
            Centre.objects.create(code=f"{letter}{i}", name_vi=f"{letter}{i}", name_en=f"{letter}{i}", province=value)
    qs = Centre.objects.filter(code__regex=r"^[XYZ][0-9]$").annotate(
        letter=Left("code", 1), v=Cast(NullIf("province", Value("")), output_field=FloatField()))
    by_letter = percentiles_by_group(qs, "letter", "v", (0.5, 0.9, 0.0, 1.0))
    assert by_letter["X"] == {"count": 4, 0.5: 2.0, 0.9: pytest.approx(2.7), 0.0: 1.0, 1.0: 3.0}
    assert by_letter["Y"] == {"count": 1, 0.5: 7.0, 0.9: 7.0, 0.0: 7.0, 1.0: 7.0}
    assert "Z" not in by_letter
    groups, total = percentiles_with_total(qs, "letter", "v", (0.5,))
    assert groups == {"X": {"count": 4, 0.5: 2.0}, "Y": {"count": 1, 0.5: 7.0}}
    assert total == {"count": 5, 0.5: 2.0}
