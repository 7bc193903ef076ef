"""One JSON encoder for frames and events: orjson (fast, UTF-8 native, datetimes as ISO 8601)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
