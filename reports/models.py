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
