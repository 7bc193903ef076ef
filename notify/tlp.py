"""What TLP lets out of the hub by email and webhook (docs/notifications.md, "TLP").

- Email goes only to people who may read the item; a TLP:RED or TLP:AMBER+STRICT item's content is
  never put in an email (only "an item you may read is waiting" and the link).
- A webhook carries an item only up to its `max_tlp` (GREEN by default); AMBER+STRICT and RED never.

Every alert, request and message carries its marking (hub/sharing.py); an object without one (a
test double, a future kind of item) counts as TLP:GREEN, an unknown value as the strictest.
"""

from __future__ import annotations

from typing import Any

ORDER = ("clear", "green", "amber", "amber+strict", "red")
WITHHELD_FROM_EMAIL = frozenset({"red", "amber+strict"})
NEVER_BY_WEBHOOK = frozenset({"red", "amber+strict"})
UNMARKED = "green"


def tlp_of(item: Any) -> str:
    """The item's marking; `item` may also be the marking itself (a request's comment or file:
    `requests.selectors.effective_tlp`, never looser than its request)."""
    value = (item if isinstance(item, str) else getattr(item, "tlp", None)) or UNMARKED
    return value if value in ORDER else "red"  # an unknown marking is treated as the strictest


def email_withholds_body(item: Any) -> bool:
    return tlp_of(item) in WITHHELD_FROM_EMAIL


def webhook_may_carry(item: Any, max_tlp: str) -> bool:
    tlp = tlp_of(item)
    if tlp in NEVER_BY_WEBHOOK:
        return False
    return ORDER.index(tlp) <= ORDER.index(max_tlp)
