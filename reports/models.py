"""Rollups the reports read instead of the rows they count (issue 27, docs/reports.md "Rollups").

A rollup holds COUNTS only — counts add up exactly over days, so a period's figure read from it is
the same number as counting the rows. It is kept by the database itself: triggers on the counted
table (reports/migrations, `reports.rollups`) update it in the same transaction as every write
that changes what it counts, whatever wrote it (a service, the admin, a cascade, a bulk load), and
`manage.py rebuild_report_rollups` recomputes it from the rows. Percentiles never come from here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MessageDay(models.Model):
    """How many messages visible to every reader of their topic (no audience of their own, not
    deleted) each author wrote in each topic on each local day (reports.rollups.ROLLUP_TIME_ZONE).

    Keyed by author, not by the author's centre: the dashboard groups by the author's CURRENT
    centre, exactly as counting the rows does, so a person moving centre needs no rewrite. Messages
    with an audience are not here: they are counted from their rows, through the viewer's rule."""

    day = models.DateField()
    topic = models.ForeignKey("chat.Topic", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                               db_index=False, related_name="+")
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "topic", "author"], name="reports_message_day_key")]

    def __str__(self) -> str:
        return f"{self.day} topic {self.topic_id} author {self.author_id}: {self.n}"


class TicketMonth(models.Model):
    """How many requests were made (created) and how many first accepted in each local month, per
    requesting and target centre — what the yearly report counts (made, received, accepted) — and
    whether they are marked AMBER+STRICT or RED, which only the people of their two centres count
    (requests.selectors.PARTY_ONLY). `target` is the target centre's id, 0 for none yet.

    By month, not by day: at ~900 requests a day over 15 × 14 centre pairs a daily cell would hold
    about one request, a monthly one about sixty, so a year is a few thousand rows instead of
    ~330,000 index entries. Only whole local months are read from here (a calendar year always is);
    the dashboard's periods, and its centre and category filters, are counted from the rows."""

    class Kind(models.IntegerChoices):
        MADE = 1, "made"  # by created_at
        ACCEPTED = 2, "accepted"  # by accepted_at: the first acceptance

    kind = models.SmallIntegerField(choices=Kind.choices)
    month = models.DateField()  # the month's first local day
    requesting = models.IntegerField()
    target = models.IntegerField()  # 0: no target centre yet
    restricted = models.BooleanField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "month", "requesting", "target", "restricted"],
                                               name="reports_ticket_month_key")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.month:%Y-%m} {self.requesting}→{self.target}: {self.n}"
