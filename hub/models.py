"""Centres, people and the credentials scripts and sockets use.

A user belongs to exactly one centre and has one role; every visibility rule in the hub is phrased in
terms of (centre, role), so these two fields are the whole of a person's identity for authorisation.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core import signing
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.lib.compiled_queries import TEXT_PLACEHOLDERS, CompiledQuery, model_fields, model_from_row


class Centre(models.Model):
    class Kind(models.TextChoices):
        PROVINCIAL = "provincial", _("Provincial ICT centre")
        PARTNER = "partner", _("Partner organisation")

    code = models.CharField(_("code"), max_length=10, unique=True)
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    province = models.CharField(_("province"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PROVINCIAL)
    is_mou_member = models.BooleanField(
        _("MOU member"), default=True, help_text=_("Signatory of the cooperation MOU.")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("centre")
        verbose_name_plural = _("centres")

    def __str__(self) -> str:
        return f"{self.code} — {self.name_vi}"

    @property
    def name(self) -> str:
        """The name in the active language (Vietnamese unless the user switched to English)."""
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "vi").startswith("en") else self.name_vi


class Role(models.TextChoices):
    ENGINEER = "engineer", _("Engineer")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    MANAGER = "manager", _("Manager")
    HUB_ADMIN = "hub_admin", _("Hub admin")


# What a person's authorisation depends on (issue 20, class 1): whether they may sign in at all, their
# role, whether they are a superuser (a hub admin), their centre, and their password (a new one ends
# their other sessions). A change to any of them reaches every open socket of the person at once
# (`identity_changed`, hub/services.py), whichever way it was written — see `User.save` and
# `UserQuerySet.update` — and the sockets' periodic re-check compares them as a safety net for writes
# that bypass both (raw SQL). What the person may *see* depends on all of them but the password
# (ACCESS_FIELDS): a change of those also makes their open pages reload what they show (`access.changed`,
# hub.realtime.consumers.HubConsumer.reauthorise).
ACCESS_FIELDS = ("is_active", "role", "is_superuser", "centre_id")
IDENTITY_FIELDS = (*ACCESS_FIELDS, "password")


def access_of(identity: tuple[Any, ...]) -> tuple[Any, ...]:
    """The ACCESS_FIELDS part of an identity (`User.identity()`: IDENTITY_FIELDS begins with them)."""
    return identity[:len(ACCESS_FIELDS)]


_IDENTITY_NAMES = frozenset(IDENTITY_FIELDS) | {"centre"}
_NOT_LOADED = object()  # a deferred field, in `User.identity()`


class UserQuerySet(models.QuerySet["User"]):
    def update(self, **kwargs: Any) -> int:
        """A bulk update that touches a person's identity tells their live sockets, like `save()`
        does: `QuerySet.update` (and `bulk_update`, which uses it) sends no signal, and a bulk change
        of role or centre was invisible to open sockets until their periodic re-check."""
        if not _IDENTITY_NAMES & set(kwargs):
            return super().update(**kwargs)
        from hub.services import identity_changed

        with transaction.atomic(using=self.db):
            ids = list(self.values_list("pk", flat=True))
            updated = super().update(**kwargs)
            identity_changed(ids)
        return updated


class HubUserManager(UserManager["User"]):
    """Django's UserManager (create_user …) over `UserQuerySet`: what `from_queryset` builds (it would
    copy no method — `update` is already proxied), spelled out so the type checker sees a manager of
    Users rather than a dynamic base class."""

    _queryset_class = UserQuerySet


class User(AbstractUser):
    objects: ClassVar[HubUserManager] = HubUserManager()

    centre = models.ForeignKey(
        Centre, verbose_name=_("centre"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="users",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ENGINEER)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    # What the language switch stored; the API and the person's sockets answer in it (hub.i18n).
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES,
                                help_text=_("Blank: Vietnamese, unless the browser's cookie says otherwise."))

    # Set on the person a WebSocket ticket was redeemed for (WsTicket.redeem): the API token behind
    # the ticket, or None; and the digest of the browser session a session's ticket is bound to
    # (hub.services.session_digest), or None. Not columns.
    ws_token_id: int | None
    ws_session_tag: str | None

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.username

    def get_display_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_hub_admin(self) -> bool:
        return self.is_superuser or self.role == Role.HUB_ADMIN

    @property
    def roles(self) -> list[str]:
        """All roles the user acts in; a superuser is a hub admin whatever its centre role."""
        roles = [self.role]
        if self.is_superuser and Role.HUB_ADMIN not in roles:
            roles.append(Role.HUB_ADMIN)
        return roles

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    # --- identity changes reach live sockets ----------------------------------------------------
    def identity(self) -> tuple[Any, ...]:
        """The loaded values of IDENTITY_FIELDS (a deferred one as the marker itself: never a query)."""
        return tuple(self.__dict__.get(name, _NOT_LOADED) for name in IDENTITY_FIELDS)

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any],
                **kwargs: Any) -> User:
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._identity_loaded = instance.identity()
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saved from anywhere — the admin, a form, a management command, the API — a change of
        role, centre, active flag, superuser flag or password is announced to every open socket of
        the person, after commit (hub.services.identity_changed)."""
        update_fields = kwargs.get("update_fields")
        changed = (not self._state.adding
                   and (update_fields is None or bool(_IDENTITY_NAMES & set(update_fields)))
                   and self.identity() != getattr(self, "_identity_loaded", None))
        super().save(*args, **kwargs)
        self._identity_loaded = self.identity()
        if changed:
            from hub.services import identity_changed

            identity_changed([self.pk])


def _hash_secret(raw: str) -> str:
    # Tokens are 256-bit random strings and tickets' nonces 128-bit ones, so a fast hash is enough:
    # there is nothing to brute-force, and a stolen database dump still does not yield usable
    # credentials (a ticket is signed besides, and its row is written only once it is used).
    return hashlib.sha256(raw.encode()).hexdigest()


LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(models.Model):
    """A long-lived credential for scripts (`Authorization: Token <key>`). Only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=8, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        """Create a token and return it with the raw key, which is shown once and never stored."""
        raw = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:8], key_hash=_hash_secret(raw))
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> tuple[ApiToken, User] | None:
        now = timezone.now()
        key_hash = _hash_secret(raw)
        # Recorded to the minute: a write on every request was a third of the cost of a token call
        # and serialised a burst of a thousand scripts connecting at once on one row lock each.
        stale_before = now - LAST_USED_RESOLUTION
        if connection.vendor == "postgresql":
            # The write, when due, in the look-up's round trip (a data-modifying WITH, as
            # WsTicket.redeem): a reconnect storm is a thousand tokens each used for the first time
            # in a while, and their UPDATE was a second query per ticket (docs/benchmarks.md).
            token = _token_by_hash(key_hash, touch=(now, key_hash, stale_before))
        else:
            token = _token_by_hash(key_hash)
            if token is not None and (token.last_used_at is None or token.last_used_at <= stale_before):
                cls.objects.filter(pk=token.pk).update(last_used_at=now)
        if token is None:
            return None
        if token.last_used_at is None or token.last_used_at <= stale_before:
            token.last_used_at = now  # written above (the look-up read the row as it was before)
        return token, token.user

    def revoke(self) -> None:
        """Revoke and cut off live sockets opened with tickets from this token (hub.services)."""
        from hub.services import revoke_tokens

        revoke_tokens(ApiToken.objects.filter(pk=self.pk))
        self.refresh_from_db(fields=["revoked_at"])


def person_from_row(row: Sequence[Any]) -> User:
    """A person and their centre from the values of `model_fields(User)` then `model_fields(Centre)`."""
    user = model_from_row(User, row[: len(_USER_FIELDS)])
    if user.centre_id is not None:
        user.centre = model_from_row(Centre, row[len(_USER_FIELDS):])
    return user


_USER_FIELDS = model_fields(User)


def _token_by_hash(key_hash: str, touch: tuple[Any, ...] | None = None) -> ApiToken | None:
    """The live token with this hash, its person and their centre loaded, in one query compiled
    once: every API request starts here, and building this query's SQL was a third of a ticket-list
    request's CPU (docs/benchmarks.md). With `touch` (PostgreSQL: now, the hash, the stale bound) the
    same round trip records `last_used_at` when it is older than the bound (`_touch_sql`)."""
    if touch is None:
        rows = _TOKEN_BY_HASH.rows(key_hash)
    else:
        rows = _TOKEN_BY_HASH.rows_within(_touch_sql(), touch, ") AS token", key_hash)
    if not rows:
        return None
    row = rows[0]
    token = model_from_row(ApiToken, row[: len(_TOKEN_FIELDS)])
    token.user = person_from_row(row[len(_TOKEN_FIELDS):])
    return token


@functools.cache
def _touch_sql() -> str:
    """PostgreSQL: `ApiToken.authenticate`'s once-a-minute UPDATE of `last_used_at` as a WITH around
    the token's look-up. The look-up reads the row as it was before the UPDATE (PostgreSQL's rule for
    data-modifying WITHs); only a live token of an active person is written, as before, and one used
    within the minute matches nothing and writes nothing."""
    quote = connection.ops.quote_name

    def column(model: type[models.Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        return quote(field.column)

    table, users = quote(ApiToken._meta.db_table), quote(User._meta.db_table)
    used = column(ApiToken, "last_used_at")
    return (f"WITH touched AS (UPDATE {table} SET {used} = %s WHERE {column(ApiToken, 'key_hash')} = %s "
            f"AND {column(ApiToken, 'revoked_at')} IS NULL AND ({used} IS NULL OR {used} <= %s) "
            f"AND {column(ApiToken, 'user')} IN (SELECT {column(User, 'id')} FROM {users} "
            f"WHERE {column(User, 'is_active')}) RETURNING 1) SELECT * FROM (")


_TOKEN_FIELDS = model_fields(ApiToken)
_TOKEN_BY_HASH = CompiledQuery(
    lambda key_hash: ApiToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
    .values_list(*_TOKEN_FIELDS, *model_fields(User, "user__"), *model_fields(Centre, "user__centre__"))[:1],
    placeholders=TEXT_PLACEHOLDERS,
)


TICKET_SWEEP_ONE_IN = 100
# Django's signing: the ticket is its holder's ids and a nonce, signed with SECRET_KEY (and its
# fallbacks) under this salt, with the time it was issued; "." keeps it URL-safe.
_TICKET_SALT = "hub.ws-ticket"


def _ticket_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_TICKET_SALT, sep=".")


class WsTicket(models.Model):
    """A redeemed WebSocket ticket: the row that makes a ticket single-use.

    A ticket (`?ticket=`) is a short-lived credential for one WebSocket handshake, issued to a person
    and the credential they asked with — an API token, or a browser session (the digest of its key,
    never the key: a URL ends up in logs) — : `issue` signs these and a random nonce with Django's
    `TimestampSigner`, and writes nothing — a reconnect storm is a
    thousand tickets at once, and their INSERT was a fifth of the ticket request's CPU
    (docs/benchmarks.md, "7 December"). `redeem` checks the signature and its age
    (`WS_TICKET_TTL_SECONDS`), then inserts this row under the nonce's hash — unique, so of two
    redemptions of one ticket, in any processes, exactly one inserts it — and reads the holder's
    current standing (active, token not revoked) in the same round trip on PostgreSQL. A session's
    ticket opens a socket only together with that session's cookie, and the socket then lives no
    longer than the session, as a cookie socket (hub.realtime.ws_auth: the handshake's session must
    be the one the ticket names, and still sign the person in)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The API token the ticket was obtained with (None for a browser session): revoking the token
    # also closes the sockets it opened.
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)  # the nonce's, so a ticket is claimed once
    expires_at = models.DateTimeField()  # no later than the ticket's own expiry: swept after it
    used_at = models.DateTimeField(null=True, blank=True)  # when it was redeemed

    @classmethod
    def issue(cls, user: User, token: ApiToken | None = None, session_key: str | None = None) -> str:
        """A ticket for `user` and the credential they asked with — `token`, or the browser session
        `session_key` (the ticket carries its digest) — signed, not stored."""
        nonce = secrets.token_urlsafe(16)
        value = f"{user.pk}.{token.pk if token is not None else 0}.{nonce}"
        if session_key is not None:
            from hub.services import session_digest

            value += f".{session_digest(session_key)}"
        return _ticket_signer().sign(value)

    @classmethod
    def redeem(cls, raw: str) -> User | None:
        """Claim the ticket and return its person as they are now, or None: a forged, expired, used or
        malformed ticket, a person deactivated or a token revoked since. The claim is the unique
        INSERT (single use across processes). The user carries `ws_token_id`, the API token behind
        the ticket (or None), and `ws_session_tag`, the session it is bound to (or None: the
        handshake checks that session, hub.realtime.ws_auth)."""
        try:
            user_id, token_id, nonce, *session = _ticket_signer().unsign(
                raw, max_age=settings.WS_TICKET_TTL_SECONDS).split(".")
            holder = (int(user_id), int(token_id))
        except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
            return None
        if len(session) > 1 or (session and holder[1]):  # a token's ticket is bound to no session
            return None
        now = timezone.now()
        claim = (holder[0], holder[1] or None, _hash_secret(nonce),
                 now + timedelta(seconds=settings.WS_TICKET_TTL_SECONDS), now)
        query = _TOKEN_TICKET_HOLDER if holder[1] else _SESSION_TICKET_HOLDER
        args = holder if holder[1] else holder[:1]
        if connection.vendor == "postgresql":
            # One round trip: the holder read, the claim (an INSERT that a used ticket's row stops)
            # only when there is a holder, and the holder returned only when it claimed.
            try:
                rows = query.rows_within("WITH holder AS (", (), _claim_sql(), *args, after_params=claim)
            except IntegrityError:  # the person or token deleted between the read and the INSERT
                return None
        else:
            rows = query.rows(*args)
            if rows:
                try:
                    with transaction.atomic():  # a savepoint when the caller has a transaction
                        cls.objects.create(user_id=claim[0], token_id=claim[1], key_hash=claim[2],
                                           expires_at=claim[3], used_at=claim[4])
                except IntegrityError:  # used
                    return None
        if secrets.randbelow(TICKET_SWEEP_ONE_IN) == 0:
            # Housekeeping: a claim outlives its ticket only to refuse a second use; drop old ones
            # now and then as tickets are redeemed (on every one it was a scan of the table each).
            cls.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
        if not rows:
            return None
        if holder[1]:
            token_revoked_at, *person = rows[0]
            if token_revoked_at is not None:
                return None
        else:
            person = list(rows[0])
        user = person_from_row(person)
        if not user.is_active:
            return None
        user.ws_token_id = holder[1] or None
        user.ws_session_tag = session[0] if session else None
        return user


@functools.cache
def _claim_sql() -> str:
    """PostgreSQL: between the holder's SELECT (as `WITH holder AS (…`) and the answer, the claim: an
    INSERT of the ticket's row made only when the holder exists (no foreign key error for a deleted
    person) and stopped by the unique nonce hash of an earlier redemption (`ON CONFLICT DO NOTHING`);
    the holder is returned only when the INSERT made the row. Of two concurrent redemptions the
    second's INSERT waits for the first's and then conflicts, so it claims nothing."""
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        field = WsTicket._meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        return quote(field.column)

    columns = ", ".join(column(name) for name in ("user", "token", "key_hash", "expires_at", "used_at"))
    return (f"), claimed AS (INSERT INTO {quote(WsTicket._meta.db_table)} ({columns}) "
            f"SELECT %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM holder) "
            f"ON CONFLICT ({column('key_hash')}) DO NOTHING RETURNING 1) "
            f"SELECT * FROM holder WHERE EXISTS (SELECT 1 FROM claimed)")


# A ticket's holder as they are now — the token (is it revoked? is it theirs?), the person and their
# centre — in one query compiled once: a reconnect storm redeems a thousand tickets at once.
_TOKEN_TICKET_HOLDER = CompiledQuery(
    lambda user_id, token_id: ApiToken.objects.filter(pk=token_id, user_id=user_id)
    .values_list("revoked_at", *model_fields(User, "user__"), *model_fields(Centre, "user__centre__")),
    arity=2,
)
_SESSION_TICKET_HOLDER = CompiledQuery(
    lambda user_id: User.objects.filter(pk=user_id).values_list(*model_fields(User), *model_fields(Centre, "centre__")),
)


class PeriodicJob(models.Model):
    """One registered periodic job's schedule and last run (hub.jobs): the row is what makes a job run
    once per period however many processes (web servers, workers) try to run it — a process claims a
    due run by moving `next_run_at` forward in one conditional UPDATE, and only one UPDATE can match."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    next_run_at = models.DateTimeField(_("next run"))
    locked_until = models.DateTimeField(
        _("locked until"), null=True, blank=True,
        help_text=_("While a run is in progress; a process that died mid-run frees the job when this passes."),
    )
    locked_by = models.CharField(_("run by"), max_length=100, blank=True)
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(_("last duration (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        ordering = ["name"]
        verbose_name = _("periodic job")
        verbose_name_plural = _("periodic jobs")

    def __str__(self) -> str:
        return self.name


class CalendarFeed(models.Model):
    """A private iCalendar address that calendar apps subscribe to (`/calendar/<token>.ics`): a
    centre's duty roster (`duty`) or a person's MOU events (`events`). Calendar apps cannot send a
    session or a token header, so the secret is in the URL; it only ever reads one calendar, and
    resetting it (a new row, the old one revoked) cuts off every subscriber at once."""

    class Kind(models.TextChoices):
        DUTY = "duty", _("Duty roster")
        EVENTS = "events", _("Events")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="calendar_feeds", help_text=_("Who made it (events: whose it is)."))
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.kind} {self.centre_id or self.user_id}"

    @classmethod
    def current(cls, kind: str, *, centre: Centre | None = None, user: Any = None, create: bool = True,
                made_by: Any = None) -> CalendarFeed | None:
        """The live feed of a centre (duty) or a person (events), made on first use."""
        owner = {"centre": centre} if kind == cls.Kind.DUTY else {"user": user}
        feed = cls.objects.filter(kind=kind, revoked_at__isnull=True, **owner).first()
        if feed is None and create:
            feed = cls.objects.create(kind=kind, token=secrets.token_urlsafe(24),
                                      **owner, **({"user": made_by} if made_by and "user" not in owner else {}))
        return feed

    @classmethod
    def reset(cls, kind: str, *, centre: Centre | None = None, user: Any = None, made_by: Any = None) -> CalendarFeed:
        owner = {"centre": centre} if kind == cls.Kind.DUTY else {"user": user}
        cls.objects.filter(kind=kind, revoked_at__isnull=True, **owner).update(revoked_at=timezone.now())
        feed = cls.current(kind, centre=centre, user=user, made_by=made_by)
        assert feed is not None  # current() creates one
        return feed

    @property
    def path(self) -> str:
        return f"/calendar/{self.token}.ics"
