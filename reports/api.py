"""The managers' figures as JSON: what the dashboard page shows, for scripts and live clients.

`GET /api/v1/dashboard?from=&to=&centre=&category=` and `GET /api/v1/reports/cooperation/{year}`;
managers and hub admins only (403 otherwise). Tables have the same shape as the page's and the
exports': `{"key", "title", "columns", "rows", "links", "chart", "note"}`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from ninja import Router

from hub.errors import FORBIDDEN, HubError
from hub.lib.api_support import ERRORS, ApiRequest
from reports.selectors import cooperation_report, dashboard, parse_filters
from reports.views import may_see_reports

router = Router(tags=["reports"])


def _require_manager(user) -> None:
    if not may_see_reports(user):
        raise HubError(FORBIDDEN, _("Only managers and hub admins see the dashboard and the reports."))


@router.get("/dashboard", response={200: dict[str, Any], **ERRORS},
            summary="Dashboard figures (query: from, to as YYYY-MM-DD; centre; category)")
def get_dashboard(request: ApiRequest):
    _require_manager(request.auth)
    return dashboard(request.auth, parse_filters(request.GET)).as_dict()


@router.get("/reports/cooperation/{year}", response={200: dict[str, Any], **ERRORS},
            summary="The yearly cooperation report's figures")
def get_cooperation_report(request: ApiRequest, year: int):
    _require_manager(request.auth)
    report = cooperation_report(year, request.auth)
    return {
        "year": report.year,
        "network": report.network,
        "previous": report.previous,
        "centres": report.centres,
        "tables": [t.as_dict() for t in report.tables()],
    }
