"""`/api/v1/…receipts…`: read receipts in a topic and the caller's choice to share their read state
(chat/receipts.py, docs/duty.md "Read receipts")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema

from chat import receipts
from chat.api import _topic_for
from hub.lib.api_support import ERRORS, ApiRequest, InSchema
from hub.lib.inputs import parse_ids

router = Router(tags=["chat"])
MAX_IDS = 200


class CentreReadersOut(Schema):
    centre: str | None
    count: int
    people: list[str] | None = None


class MessageReceiptsOut(Schema):
    id: int
    total: int
    centres: list[CentreReadersOut]


class ReceiptsOut(Schema):
    sharing: bool
    results: list[MessageReceiptsOut]


class ReceiptsQuery(Schema):
    ids: str = ""


class SharingIn(InSchema):
    share: bool


class SharingOut(Schema):
    share: bool


def _ids(raw: str) -> list[int]:
    return parse_ids(raw, field="ids", limit=MAX_IDS, message=_("up to %(n)s message ids, separated by commas."))


@router.get("/topics/{slug}/receipts", response={200: ReceiptsOut, **ERRORS},
            summary="Who has read these messages, by centre (empty when the caller does not share their own)")
def topic_receipts(request: ApiRequest, slug: str, query: Query[ReceiptsQuery]):
    topic = _topic_for(request, slug)
    found = receipts.receipts_for(topic, viewer=request.auth, ids=_ids(query.ids))
    return {"sharing": receipts.shares(request.auth),
            "results": [{"id": ident, **found[ident]} for ident in sorted(found)]}


@router.get("/me/read-receipts", response={200: SharingOut, **ERRORS},
            summary="Whether the caller shares their read state")
def get_sharing(request: ApiRequest):
    return {"share": receipts.shares(request.auth)}


@router.put("/me/read-receipts", response={200: SharingOut, **ERRORS},
            summary="Share (or stop sharing) the caller's read state; not sharing hides everyone else's too")
def put_sharing(request: ApiRequest, payload: SharingIn):
    return {"share": receipts.set_sharing(request.auth, share=payload.share)}
