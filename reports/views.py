"""The managers' pages and files. Thin: parse the URL's filters, check the role, ask the selectors,
render (page, CSV, XLSX or PDF). Every figure comes from `reports.selectors`.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from frontend.views import page
from hub.errors import HubError
from hub.models import Centre, Role
from reports import exports
from reports.pdf import render_pdf
from reports.selectors import cooperation_report, dashboard, parse_filters, years_with_data
from requests.models import Category
from requests.selectors import TicketFilters, filter_tickets

MANAGER_ROLES = (Role.MANAGER, Role.HUB_ADMIN)
R = TypeVar("R", HttpResponse, StreamingHttpResponse)


def may_see_reports(user) -> bool:
    """Managers (the standing office) and hub admins; everyone else gets 403."""
    return bool(user.is_authenticated and user.is_active and user.has_role(*MANAGER_ROLES))


def _require_manager(request: HttpRequest) -> None:
    if not may_see_reports(request.user):
        raise PermissionDenied


def _bad_request(error: HubError) -> HttpResponse:
    return HttpResponse(error.render(), status=400, content_type="text/plain; charset=utf-8")


def _attachment(response: R, filename: str) -> R:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file(content, fmt: str, filename: str) -> HttpResponse:
    content_type = exports.CSV_TYPE if fmt == "csv" else exports.XLSX_TYPE
    return _attachment(HttpResponse(content, content_type=content_type), f"{filename}.{fmt}")


@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    context = {
        "centres": Centre.objects.order_by("code"),
        "categories": Category.choices,
        "years": years_with_data(request.user),
    }
    try:
        filters = parse_filters(request.GET)
    except HubError as error:
        response = page(request, "reports/dashboard.html", error=error.render(), params=request.GET, **context)
        response.status_code = 400
        return response
    board = dashboard(request.user, filters)
    return page(request, "reports/dashboard.html", board=board, filters=filters, params=filters.as_query(),
                **context)


@login_required
def dashboard_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _require_manager(request)
    if fmt not in exports.FORMATS:
        raise Http404
    try:
        filters = parse_filters(request.GET)
    except HubError as error:
        return _bad_request(error)
    board = dashboard(request.user, filters)
    content = exports.tables_csv(board.tables) if fmt == "csv" else exports.tables_xlsx(board.tables)
    return _file(content, fmt, f"dashboard-{filters.start}-{filters.end}")


def _ticket_filters(request: HttpRequest) -> TicketFilters:
    """The ticket list's own query parameters (see GET /api/v1/tickets), so the export of a list is
    exactly the list on screen; `filter_tickets` checks them as it does for the API."""
    params = request.GET
    return TicketFilters(
        status=params.get("status") or None, category=params.get("category") or None,
        priority=params.get("priority") or None, centre=params.get("centre") or None,
        assignee=params.get("assignee") or None, overdue=params.get("overdue") or None, q=params.get("q") or None,
        sort=params.get("sort") or None,
    )


@login_required
def tickets_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The ticket list with the current filters — only tickets the caller may see (any signed-in
    user may export their own list)."""
    if fmt not in exports.FORMATS:
        raise Http404
    try:
        qs, order = filter_tickets(request.user, _ticket_filters(request))
    except HubError as error:
        return _bad_request(error)
    # One join for the whole export (a page of the API list attaches these in small look-ups instead).
    qs = qs.select_related(*exports.EXPORT_RELATED).order_by(*order)
    base_url = request.build_absolute_uri("/").rstrip("/")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    # Both formats stream: each piece is sent as it is made, in constant memory (hub/server/http.py
    # pulls them one at a time from the request's thread).
    if fmt == "csv":
        response = StreamingHttpResponse(exports.tickets_csv(qs, base_url), content_type=exports.CSV_TYPE)
    else:
        response = StreamingHttpResponse(exports.tickets_xlsx(qs, base_url), content_type=exports.XLSX_TYPE)
    return _attachment(response, f"tickets-{stamp}.{fmt}")


def _report(request: HttpRequest, year: int):
    _require_manager(request)
    try:
        return cooperation_report(year, request.user)
    except HubError as error:
        raise Http404(error.render()) from error


@login_required
def cooperation_page(request: HttpRequest, year: int) -> HttpResponse:
    report = _report(request, year)
    years = years_with_data(request.user)
    return page(request, "reports/cooperation.html", report=report, tables=report.tables(),
                previous_year=year - 1 if year - 1 in years else None,
                next_year=year + 1 if year + 1 in years else None)


@login_required
def cooperation_pdf(request: HttpRequest, year: int) -> HttpResponse:
    report = _report(request, year)
    response = HttpResponse(render_pdf(report), content_type="application/pdf")
    return _attachment(response, f"cooperation-report-{year}.pdf")
