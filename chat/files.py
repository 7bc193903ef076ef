"""Files and images posted with chat messages (docs/chat.md, "Files and images").

The rule for what may be uploaded is the hub's one upload rule (`hub.lib.uploads`: the same size
limit and types as a request's attachments, `.log` and `.txt` as text). Files are written to storage
*before* the message's transaction (the topic row lock is not held while megabytes are written) and
deleted again if the message is not stored. An image gets a thumbnail when Pillow can read it; one
it cannot read is kept as a plain file (downloaded, never shown inline).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from chat.models import Message, MessageAttachment
from hub.errors import invalid
from hub.lib.uploads import validate_upload
from hub.models import User

# The largest thumbnail (pixels); the full image opens on a click.
THUMBNAIL_BOX = (480, 360)
# Images with more pixels than this get no thumbnail (decoding them would cost too much memory).
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "PNG"}


def check_files(files: Sequence[UploadedFile[bytes]]) -> list[tuple[str, str]]:
    """(name, content type) of each file, by the hub's upload rule; at most HUB_CHAT_MAX_FILES."""
    if len(files) > settings.HUB_CHAT_MAX_FILES:
        raise invalid("file", _("at most %(n)s files per message."), n=settings.HUB_CHAT_MAX_FILES)
    return [validate_upload(f) for f in files]


def _thumbnail(upload: UploadedFile[bytes], content_type: str) -> tuple[ContentFile[bytes], int, int] | None:
    """A smaller copy of an image and its full size, or None when it is no image Pillow can read."""
    fmt = IMAGE_TYPES.get(content_type)
    if fmt is None:
        return None
    from PIL import Image

    try:
        upload.seek(0)
        with Image.open(upload) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                return None
            image.thumbnail(THUMBNAIL_BOX)
            small: Image.Image = image
            if fmt == "JPEG" and image.mode not in ("RGB", "L"):
                small = image.convert("RGB")
            out = io.BytesIO()
            small.save(out, fmt)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue()), width, height


def store_files(files: Sequence[UploadedFile[bytes]], checked: list[tuple[str, str]], *, by: User,
                stored: list[str]) -> list[MessageAttachment]:
    """Write each file (and an image's thumbnail) to storage; the rows are saved with the message.
    Every storage name is appended to `stored`, for deletion if the message is not stored."""
    pending = []
    for upload, (name, content_type) in zip(files, checked, strict=True):
        attachment = MessageAttachment(uploaded_by=by, original_name=name, content_type=content_type,
                                       size=upload.size or 0)
        thumb = _thumbnail(upload, content_type)
        attachment.file.save(name, upload, save=False)
        stored.append(attachment.file.name or "")
        if thumb is not None:
            content, attachment.width, attachment.height = thumb
            suffix = ".jpg" if IMAGE_TYPES[content_type] == "JPEG" else ".png"
            attachment.thumbnail.save(f"thumbnail{suffix}", content, save=False)
            stored.append(attachment.thumbnail.name or "")
        pending.append(attachment)
    return pending


def attach(message: Message, pending: list[MessageAttachment]) -> None:
    """Inside the message's transaction: the rows, and what the message's wire form names
    (`Message.files`, read by chat.serializers.attachments_out)."""
    if not pending:
        return
    for attachment in pending:
        attachment.message = message
    # One INSERT for all the files (ids set on PostgreSQL and SQLite alike): this runs under the
    # topic's lock (chat.services._insert_message), where a save per file made every other sender
    # of the topic wait for each.
    MessageAttachment.objects.bulk_create(pending)
    message.files = [_stored_form(a) for a in pending]
    Message.objects.filter(pk=message.pk).update(files=message.files)


def _stored_form(a: MessageAttachment) -> dict[str, Any]:
    return {"id": a.pk, "name": a.original_name, "content_type": a.content_type, "size": a.size,
            "width": a.width, "height": a.height, "thumbnail": bool(a.thumbnail)}
