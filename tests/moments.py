"""Moments at the calendar's edge, for the services that take a date and time (review 3): converted to
UTC (or moved by a duration) they leave Python's range — an OverflowError, unless refused first."""

CALENDAR_EDGES = [
    ("0001-01-01T00:00:00+07:00", "0001-01-01T08:00:00+07:00"),  # year 1 east of UTC: before datetime.min in UTC
    ("9999-12-31T20:00:00-07:00", "9999-12-31T23:00:00-07:00"),  # year 9999 west of UTC: after datetime.max
]
