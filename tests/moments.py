"""Moments at the calendar's edge, for the services that take a date and time (review 3): converted to
UTC (or moved by a duration) they leave Python's range — an OverflowError, unless refused first."""

CALENDAR_EDGES = [
    ("0001-01-01T00:00:00+07:00", "0001-01-01T08:00:00+07:00"),  # year 1 east of UTC: before datetime.min in UTC
    ("9999-12-31T20:00:00-07:00", "9999-12-31T23:00:00-07:00"),  # year 9999 west of UTC: after datetime.max
]


def refused_beyond_the_years(client, url: str, field: str) -> None:
    """GET `url` (a date in a query parameter outside 2000–2999) is the translated 400 naming `field`,
    never a 500 (review 4: the read side's date ranges)."""
    client.raise_request_exception = False
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"] == {"code": "invalid", "fields": [field],
                                        "detail": f"{field}: một ngày trong khoảng năm 2000 đến 2999."}
