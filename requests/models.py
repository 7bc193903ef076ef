"""Cross-centre support requests: tickets, their comments, attachments and complete history.

A ticket is asked BY one centre (the requesting centre) OF another centre — or of "any centre", in
which case the first centre to accept it becomes its target. Its `status` only ever changes through
`requests.services.transition_ticket`, which consults the one state machine in `requests.workflow`;
every change of any kind leaves a `TicketEvent` so the history is complete.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import Centre
from hub.sharing import TLP_MAX_LENGTH, Tlp


class Category(models.TextChoices):
    """The MOU's cooperation areas."""

    SECURITY = "security", _("Information security")
    SOFTWARE = "software", _("Software development")
    TRAINING = "training", _("Training and certification")
    CONSULTING = "consulting", _("Project consulting")
    COMMUNICATIONS = "communications", _("Communications")
    EVENTS = "events", _("Events and workshops")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Sorting by priority needs an order that is not alphabetical.
PRIORITY_RANK: dict[str, int] = {Priority.LOW: 1, Priority.NORMAL: 2, Priority.HIGH: 3, Priority.URGENT: 4}


class Status(models.TextChoices):
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_FOR_REQUESTER = "waiting_for_requester", _("Waiting for requester")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    REOPENED = "reopened", _("Reopened")
    # Joined into another request (`Ticket.merged_into`): a read-only pointer from then on. Not a
    # move of the workflow table (requests.workflow.may_merge decides who merges).
    MERGED = "merged", _("Merged")


# Final states: nothing changes a ticket there (no comments, edits or assignments either).
FINAL_STATUSES = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED})
# States in which the target centre still owes work — the ones that can be overdue.
OPEN_STATUSES = frozenset(
    {Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER, Status.REOPENED}
)


class TicketSequence(models.Model):
    """The last reference number used by one centre in one year.

    References (`HT-2026-0042`) are allocated by incrementing this row in place inside the creating
    transaction (the UPDATE holds its lock until commit), so two tickets created at once by the same
    centre can never share a number and numbers are not skipped when a creation rolls back.
    """

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["centre", "year"], name="ticket_sequence_centre_year")]

    def __str__(self) -> str:
        return f"{self.centre_id}/{self.year}: {self.last}"


class Ticket(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    description_html = models.TextField(editable=False, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    priority_rank = models.PositiveSmallIntegerField(editable=False, default=2)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.NEW)

    requesting_centre = models.ForeignKey(
        Centre, verbose_name=_("requesting centre"), on_delete=models.PROTECT, related_name="requested_tickets"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT,
        related_name="requested_tickets",
    )
    target_centre = models.ForeignKey(
        Centre, verbose_name=_("target centre"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="incoming_tickets", help_text=_("Empty means any centre: the first to accept takes it."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assigned_tickets",
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("watchers"), blank=True, related_name="watched_tickets"
    )
    # The ticket's discussion thread: a chat topic of kind `ticket` (the chat machinery, reused), whose
    # visibility `requests.apps` registers as "exactly the ticket's viewers".
    thread = models.OneToOneField(
        "chat.Topic", verbose_name=_("discussion thread"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="ticket",
    )

    # TLP 2.0 (hub/sharing.py): AMBER unless chosen; AMBER+STRICT and RED keep the request to the
    # people of its two centres (watchers from elsewhere do not see it) and need a target centre.
    tlp = models.CharField(_("TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices, default=Tlp.AMBER)
    # Where the request came from when it was promoted from a conversation (chat.promotion).
    origin = models.JSONField(_("promoted from"), null=True, blank=True, editable=False)

    # A duplicate merged into another request points at it for ever (requests.services.merge_ticket):
    # its page redirects there, the API answers `merged_into`, every write is refused (409).
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="merged_from", editable=False,
    )

    # The SLA clock (requests/sla.py), in the target centre's working time. `due_at` is the
    # resolution due time (pauses while waiting for the requester pushed it on), `first_response_due`
    # the first-response one; the "soon" moments are when 80 % of each target is spent. A merge
    # keeps the earliest clock: `requests.sla.take_earliest`.
    due_at = models.DateTimeField(_("resolution due"))
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True,
                                             help_text=_("When the target centre first answered: a public "
                                                         "comment, acceptance or assignment."))
    sla_response_soon_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_resolution_soon_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Since when the resolution clock stands still: waiting for the requester (paused), or resolved,
    # closed or rejected (stopped). Null while it runs.
    sla_paused_at = models.DateTimeField(_("SLA clock stopped since"), null=True, blank=True, editable=False)
    # Working seconds of the pauses that have ended (they push the resolution due time on).
    sla_paused_seconds = models.PositiveIntegerField(default=0, editable=False)
    # Working minutes it took, pauses left out: what the reports' medians are of.
    sla_response_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    sla_resolution_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, help_text=_("Raised by every change (optimistic locking)."))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, db_index=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Accent- and case-folded reference + title + description, so "an toan" finds "an toàn".
    search_text = models.TextField(editable=False, blank=True)

    # Set on the requests a digest mail lists (notify.emails): the absolute link, and whether TLP keeps
    # the title out of the mail. Not columns.
    email_url: str
    withheld: bool

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["requesting_centre", "status"]),
            models.Index(fields=["target_centre", "status"]),
            # The reports' response times: tickets accepted / resolved in a period (reports.selectors).
            # Covering (issue 27): the times are read from the index alone, an index-only scan of the
            # period — a year's 330,000 acceptances fetched from the table in random order were most
            # of a percentile query's time.
            models.Index(fields=["accepted_at"], include=["created_at", "target_centre", "requesting_centre", "tlp",
                                                          "category"], name="ticket_accepted_figures"),
            models.Index(fields=["resolved_at"], include=["created_at", "status", "target_centre",
                                                          "requesting_centre", "tlp", "category"],
                         name="ticket_resolved_figures"),
            # The requests made in a period (reports: made / received, SLA attainment and its medians).
            models.Index(fields=["created_at"], include=["requesting_centre", "target_centre", "tlp", "category",
                                                         "status", "first_response_at", "first_response_due",
                                                         "due_at", "sla_paused_at", "sla_response_minutes",
                                                         "sla_resolution_minutes"],
                         name="ticket_created_figures"),
            # The dashboard's open requests by centre, status and category, overdue counted
            # (reports.selectors.open_counts): read from this index alone, an index-only scan of the
            # open ones (~40 ms for 65,000 of 1M requests against 0.3-1.1 s through the table).
            models.Index(fields=["target_centre"],
                         include=["status", "category", "requesting_centre", "tlp", "first_response_at",
                                  "first_response_due", "sla_paused_at", "due_at"],
                         condition=models.Q(status__in=sorted(OPEN_STATUSES)), name="ticket_open_figures"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return f"/tickets/{self.pk}/"

    @property
    def is_overdue(self) -> bool:
        """Open and either SLA clock breached (requests.sla; a paused clock is not overdue)."""
        from requests.sla import is_breached

        return self.status in OPEN_STATUSES and is_breached(self, timezone.now())


class Comment(models.Model):
    """A public comment, or an internal note that only the centre it was written for — the target
    centre at the time — and hub admins can read (`internal_to`). Its TLP is its ticket's or tighter,
    and its sharing scope (`shared_with`, centre codes of the ticket's two centres) may narrow it to
    one of them — `requests.selectors.item_audience`."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comment"))
    html = models.TextField(editable=False, blank=True)
    internal = models.BooleanField(_("internal"), default=False)
    tlp = models.CharField(_("TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices, default=Tlp.AMBER)
    shared_with = models.JSONField(_("shared with"), null=True, blank=True)
    # The centre an internal item belongs to, for ever: the target centre when it was written
    # (issue 20, class 3). Redirecting the ticket later never shows it to the new target; only this
    # centre (and hub admins) read it (requests.selectors.internal_visible_q). Null on public items.
    internal_to = models.ForeignKey(Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("internal to"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name never reuses the uploader's file name (path tricks, collisions); it is kept in
    # `original_name` and only ever sent back in a Content-Disposition header.
    import uuid
    from pathlib import PurePosixPath

    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"tickets/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """A file on a ticket or on one of its comments. Stored through Django's storage API under
    MEDIA_ROOT but never served from /media/: only the visibility-checking download endpoint reads it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    internal = models.BooleanField(default=False, help_text=_("Attached to an internal comment."))
    # Its comment's (or ticket's) TLP or tighter; the scope is its comment's.
    tlp = models.CharField(_("TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices, default=Tlp.AMBER)
    shared_with = models.JSONField(_("shared with"), null=True, blank=True)
    # The centre an internal item belongs to, for ever: the target centre when it was written
    # (issue 20, class 3). Redirecting the ticket later never shows it to the new target; only this
    # centre (and hub admins) read it (requests.selectors.internal_visible_q). Null on public items.
    internal_to = models.ForeignKey(Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("internal to"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class TicketEvent(models.Model):
    """One line of a ticket's history: who did what, when, and the value before and after.
    Append-only: the database refuses UPDATE and DELETE of these rows (migration 0003)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        TRANSITION = "transition", _("status changed")
        FIELD = "field", _("field changed")
        ASSIGNED = "assigned", _("assigned")
        COMMENT = "comment", _("commented")
        ATTACHMENT = "attachment", _("attached a file")
        WATCHER_ADDED = "watcher_added", _("watcher added")
        WATCHER_REMOVED = "watcher_removed", _("watcher removed")
        MERGED = "merged", _("merged into another request")
        MERGED_FROM = "merged_from", _("took in a duplicate request")
        SPLIT = "split", _("split into a new request")
        LINK_ADDED = "link_added", _("link added")
        LINK_REMOVED = "link_removed", _("link removed")
        SLA_DUE_SOON = "sla_due_soon", _("SLA due soon")
        SLA_BREACHED = "sla_breached", _("SLA breached")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                              blank=True, help_text=_("Empty when the hub itself acted (SLA reminders)."))
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=40, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Events about internal comments/attachments are part of the internal record, like the comment.
    internal = models.BooleanField(default=False)
    # The centre an internal item belongs to, for ever: the target centre when it was written
    # (issue 20, class 3). Redirecting the ticket later never shows it to the new target; only this
    # centre (and hub admins) read it (requests.selectors.internal_visible_q). Null on public items.
    internal_to = models.ForeignKey(Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("internal to"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.field}"


class LinkKind(models.TextChoices):
    """How a request relates to another request or to an alert. A link is stored once, from the
    request that was linked (`TicketLink.ticket`), and shown on both ends: from the other end
    `caused_by` reads "causes" and `split_from` reads "split into" (requests.selectors.links_of)."""

    CAUSED_BY = "caused_by", _("caused by")
    RELATED_TO = "related_to", _("related to")
    SPLIT_FROM = "split_from", _("split from")


class TicketLink(models.Model):
    """A link from a request to another request or to an alert. Shown to a viewer only when they
    may read both ends (requests.selectors.links_of); adding and removing it is in the history."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(_("kind"), max_length=20, choices=LinkKind.choices)
    to_ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="linked_from")
    to_alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="ticket_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("request link")
        verbose_name_plural = _("request links")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(to_ticket__isnull=False, to_alert__isnull=True)
                           | models.Q(to_ticket__isnull=True, to_alert__isnull=False)),
                name="ticket_link_one_end"),
            models.UniqueConstraint(fields=["ticket", "kind", "to_ticket"], name="ticket_link_ticket_once",
                                    condition=models.Q(to_ticket__isnull=False)),
            models.UniqueConstraint(fields=["ticket", "kind", "to_alert"], name="ticket_link_alert_once",
                                    condition=models.Q(to_alert__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.to_ticket_id or f'alert {self.to_alert_id}'}"


class TicketTemplate(models.Model):
    """A request form kept by a centre's managers (e.g. "Đăng ký thi chứng chỉ"): what a request of
    this kind says, with placeholders ({centre}, {centre_name}, {requester}, {date}, {year}) filled
    in for whoever opens it, and a checklist appended to the description as Markdown tasks.
    Its centre's people may open a request from it, and every centre's when it is `shared`
    (requests.selectors.visible_templates); its TLP is the request's default and floor."""

    centre = models.ForeignKey(Centre, verbose_name=_("centre"), on_delete=models.CASCADE,
                               related_name="ticket_templates")
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    target_centre = models.ForeignKey(
        Centre, verbose_name=_("target centre"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text=_("The centre such requests usually go to; empty: chosen when opening."))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    # TLP 2.0 (hub/sharing.py): the marking of the template's text, and the default — and floor — of
    # every request opened from it. AMBER+STRICT and RED templates stay with their centre.
    tlp = models.CharField(_("TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices, default=Tlp.AMBER)
    # Who may use it (requests.selectors.visible_templates): its centre's people, and — when its
    # managers share it — every centre's.
    shared = models.BooleanField(_("shared with every centre"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["centre__code", "name"]
        verbose_name = _("request template")
        verbose_name_plural = _("request templates")
        constraints = [models.UniqueConstraint(fields=["centre", "name"], name="ticket_template_centre_name")]

    def __str__(self) -> str:
        return f"{self.centre_id}: {self.name}"
class SlaReminder(models.Model):
    """One "due soon" or "breached" notice sent for one clock of one request at one due time. The
    unique constraint makes the notice happen once however many workers look at the same moment
    (requests.sla.remind); a due time moved on (priority, pause) may be reminded of again."""

    class Clock(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("first response")
        RESOLUTION = "resolution", _("resolution")

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("due soon")
        BREACHED = "breached", _("breached")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_reminders")
    clock = models.CharField(max_length=20, choices=Clock.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due = models.DateTimeField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "clock", "kind", "due"],
                                               name="sla_reminder_once_per_due")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.clock} {self.kind} {self.due}"


# When each person last opened a request (whether the other centre has seen the latest comment) lives
# with its code, requests/seen.py; imported here so Django sees it.
from requests.seen import TicketView  # noqa: E402, F401
