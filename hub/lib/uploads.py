"""The one rule for files people upload (a request's attachments, files in chat): name, size, type,
the early `Content-Length` check, and storage that leaves nothing behind when the write fails.

The type is decided from the file's name, never from what the client declares, and must be in
`REQUESTS_ATTACHMENT_TYPES` (`HUB_TICKET_ATTACHMENT_TYPES`); the size is at most
`REQUESTS_ATTACHMENT_MAX_BYTES` (`HUB_TICKET_ATTACHMENT_MAX_BYTES`). Logs (`.log`) are plain text,
as `.txt` is: servers' and scanners' logs are what centres exchange most (issue 23).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hub.errors import TOO_LARGE, invalid

logger = logging.getLogger(__name__)

# Suffixes whose type the platform's table may not know (or knows as something unhelpful).
TEXT_SUFFIXES = {".txt": "text/plain", ".log": "text/plain"}
# Multipart framing around the files themselves, allowed on top of their sizes.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def multipart_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The OpenAPI request body (`openapi_extra`) of an upload endpoint: multipart form fields."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}, "required": True}}


def content_type_of(name: str) -> str:
    """The type a file's name says it is (`.log`/`.txt` are text/plain); octet-stream if unknown."""
    suffix = PurePosixPath(name).suffix.lower()
    return TEXT_SUFFIXES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def check_length(request: HttpRequest, *, files: int = 1) -> None:
    """413 from the request's declared length, before the body is read: an oversized upload never
    makes the server spool it (a proxy's body limit is the outer guard)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.REQUESTS_ATTACHMENT_MAX_BYTES
    if length > limit * max(1, files) + UPLOAD_OVERHEAD_BYTES:
        raise invalid("file", _("the upload is over the limit of %(limit)s bytes."), code=TOO_LARGE, limit=limit)


def validate_upload(upload: UploadedFile) -> tuple[str, str]:
    """(name, content type) of an acceptable upload, else a translated 400 (no name, empty, wrong
    type) or 413 (over the size limit)."""
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name:
        raise invalid("file", _("needs a file name."))
    if upload.size is None or upload.size == 0:
        raise invalid("file", _("is empty."))
    limit = settings.REQUESTS_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise invalid("file", _("%(size)s bytes is over the limit of %(limit)s bytes."), code=TOO_LARGE,
                      size=upload.size, limit=limit)
    content_type = content_type_of(name)
    allowed = accepted_types()
    if content_type not in allowed:
        raise invalid("file", _("type %(type)s is not accepted; allowed: %(allowed)s."), type=content_type,
                      allowed=", ".join(allowed))
    return name, content_type


def accepted_types() -> list[str]:
    return list(settings.REQUESTS_ATTACHMENT_TYPES)


def delete_stored(names: list[str]) -> None:
    """Delete files already written to storage whose rows will not exist."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete orphan upload %s", name)


@contextmanager
def removed_on_failure() -> Iterator[list[str]]:
    """Yields a list to append each stored file's storage name to; if the block fails (a rolled-back
    row, a refused request), those files are deleted again, so storage never keeps an orphan."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        delete_stored(stored)
        raise
