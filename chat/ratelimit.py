"""Chat's flood control is the `post` bucket of the hub's one rate-limit mechanism
(hub/lib/ratelimit.py): charged by `chat.services.post_message` / `edit_message` for the person the
request or frame acts for. Kept for callers of the old names."""

from __future__ import annotations

from hub.lib.ratelimit import reset_local, take


def allow_post(user_id: int) -> bool:
    """Take one `post` token for `user_id`; False means "rate limited"."""
    return take(user_id, "post") == 0


__all__ = ["allow_post", "reset_local"]
