"""`/api/v1/notifications…` and `/api/v1/webhooks…`: thin views over notify.services, notify.webhooks and
notify.selectors (docs/notifications.md)."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Router, Schema, Status

from hub.lib.api_support import ERRORS, ApiRequest, InSchema, keyset_page
from notify import selectors, services, webhooks
from notify.models import Notification
from notify.serializers import notification_out, preferences_out

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    type: str
    verb: str
    channel: str
    text: str
    url: str
    actor: dict | None
    alert: int | None
    ticket: int | None
    ticket_event: int | None
    message: int | None
    created_at: str
    seen: bool
    emailed: bool


class NotificationPageOut(Schema):
    results: list[NotificationOut]
    next: str | None
    unseen: int


class SeenIn(InSchema):
    up_to: int | None = Field(None, description="Every notification with an id up to this one.")
    alert: int | None = None
    ticket: int | None = None
    all: bool = False


class SeenOut(Schema):
    marked: int


ChannelName = Literal["hub", "browser", "email", "digest", "off"]


class PreferencesIn(InSchema):
    language: Literal["vi", "en"] | None = None
    quiet_hours: bool | None = None
    own_hours: bool | None = Field(None, description="false: the centre's working time (default); true: "
                                                     "work_start, work_end and work_days.")
    work_start: str | None = Field(None, description="HH:MM, local time (Asia/Ho_Chi_Minh).")
    work_end: str | None = None
    work_days: list[int] | None = Field(None, description="0 = Monday … 6 = Sunday.")
    digest: Literal["off", "daily", "weekly"] | None = None
    channels: dict[str, ChannelName] | None = Field(
        None, description="Kind → channel: alert_critical, alert_high, alert_medium, alert_low, escalation, "
                          "mention, ticket.")
    topics: dict[str, Literal["all", "mentions", "mute"]] | None = Field(None, description="Topic slug → level.")


class PreferencesOut(Schema):
    email: str
    language: str
    quiet_hours: bool
    own_hours: bool
    work_start: str
    work_end: str
    work_days: list[int]
    digest: str
    channels: dict[str, str]
    defaults: dict[str, str]
    offered: dict[str, list[str]]
    topics: dict[str, str]


class QueuedOut(Schema):
    id: int
    status: str


@router.get("/notifications", response={200: NotificationPageOut, **ERRORS},
            summary="The caller's notifications, newest first")
def list_notifications(request: ApiRequest, cursor: str | None = None, limit: int | None = None):
    user = request.auth
    page = keyset_page(Notification.objects.filter(user=user).select_related(
        "actor__centre", "alert", "ticket_event__actor", "message__author", *selectors.READABLE_RELATED),
        ["-id"], cursor, limit)
    readable = selectors.readable(user, page.results)
    return {"results": [notification_out(n) for n in readable], "next": page.next,
            "unseen": selectors.unseen_count(user)}


@router.post("/notifications/seen", response={200: SeenOut, **ERRORS}, summary="Mark notifications seen")
def seen(request: ApiRequest, payload: SeenIn):
    marked = services.mark_seen(user=request.auth, alert_id=payload.alert, ticket_id=payload.ticket,
                                up_to=payload.up_to, everything=payload.all)
    return {"marked": marked}


@router.get("/notifications/preferences", response={200: PreferencesOut, **ERRORS},
            summary="How the caller is told of each kind of event")
def get_preferences(request: ApiRequest):
    return preferences_out(request.auth)


@router.put("/notifications/preferences", response={200: PreferencesOut, **ERRORS},
            summary="Change how the caller is told (only the fields given change)")
def put_preferences(request: ApiRequest, payload: PreferencesIn):
    services.update_preferences(user=request.auth, **payload.dict())
    return preferences_out(request.auth)


@router.post("/notifications/test-email", response={202: QueuedOut, **ERRORS},
             summary="Queue a test email to the caller")
def test_email(request: ApiRequest):
    email = services.send_test_email(user=request.auth)
    return Status(202, {"id": email.pk, "status": email.status})


# --- webhooks -----------------------------------------------------------------------------------


class WebhookIn(InSchema):
    url: str
    events: list[str] = Field(..., description="alert, ticket, message")
    secret: str | None = Field(None, description="At least 16 characters; generated (and returned once) if omitted.")
    topics: list[str] = Field(default_factory=list, description="Topic slugs whose messages to send (message events).")
    name: str = ""
    max_tlp: Literal["clear", "green", "amber"] = Field("green", description="The most sensitive TLP sent.")
    centre: str | None = Field(None, description="Hub admins only: the centre the webhook belongs to.")


class WebhookPatch(InSchema):
    events: list[str] | None = None
    topics: list[str] | None = None
    max_tlp: Literal["clear", "green", "amber"] | None = None
    active: bool | None = None


class WebhookOut(Schema):
    id: int
    name: str
    centre: str
    url: str
    events: list[str]
    topics: list[str]
    max_tlp: str
    active: bool
    created_by: str
    created_at: str


class WebhookCreatedOut(WebhookOut):
    secret: str


class DeliveryOut(Schema):
    id: int
    event: str
    status: str
    attempts: int
    response_status: int | None
    duration_ms: int | None
    error: str | None
    created_at: str
    delivered_at: str | None
    next_attempt_at: str | None


class WebhookDetailOut(WebhookOut):
    deliveries: list[DeliveryOut]


@router.post("/webhooks", response={201: WebhookCreatedOut, **ERRORS}, tags=["webhooks"],
             summary="Register a webhook for the caller's centre (managers)")
def create_webhook(request: ApiRequest, payload: WebhookIn):
    webhook, secret = webhooks.register_webhook(
        user=request.auth, url=payload.url, events=payload.events, secret=payload.secret, topics=payload.topics,
        name=payload.name, max_tlp=payload.max_tlp, centre_code=payload.centre)
    return Status(201, {**selectors.webhook_out(webhook), "secret": secret})


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS}, tags=["webhooks"],
            summary="The webhooks the caller manages")
def list_webhooks(request: ApiRequest):
    return [selectors.webhook_out(w) for w in selectors.webhooks_of(request.auth)]


@router.get("/webhooks/{webhook_id}", response={200: WebhookDetailOut, **ERRORS}, tags=["webhooks"],
            summary="A webhook and its latest deliveries")
def get_webhook(request: ApiRequest, webhook_id: int):
    webhook = webhooks.get_webhook(request.auth, webhook_id)
    return {**selectors.webhook_out(webhook),
            "deliveries": [selectors.delivery_out(d) for d in selectors.deliveries_of(webhook)]}


@router.patch("/webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS}, tags=["webhooks"],
              summary="Change a webhook's events, topics, TLP ceiling, or pause it")
def patch_webhook(request: ApiRequest, webhook_id: int, payload: WebhookPatch):
    webhook = webhooks.update_webhook(user=request.auth, webhook_id=webhook_id, **payload.dict())
    return selectors.webhook_out(webhooks.get_webhook(request.auth, webhook.pk))


@router.delete("/webhooks/{webhook_id}", response={204: None, **ERRORS}, tags=["webhooks"],
               summary="Delete a webhook")
def remove_webhook(request: ApiRequest, webhook_id: int):
    webhooks.delete_webhook(user=request.auth, webhook_id=webhook_id)
    return Status(204, None)


@router.post("/webhooks/{webhook_id}/test", response={202: DeliveryOut, **ERRORS}, tags=["webhooks"],
             summary="Queue a signed `ping` delivery")
def test_webhook(request: ApiRequest, webhook_id: int):
    return Status(202, selectors.delivery_out(webhooks.send_test(user=request.auth, webhook_id=webhook_id)))
