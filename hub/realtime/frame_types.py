"""The registry of WebSocket frame types, a strict check of a frame against its type, and the
frames page (`python -m hub.realtime.frame_types > docs/frames.md`).

Each app declares its frames as `TypedDict`s in its `frames.py` and lists them in tuples named after
the socket that carries them: `TOPIC_FRAMES` (`/ws/topics/{slug}/`), `NOTIFICATION_FRAMES`
(`/ws/notifications/`), `ANY_SOCKET_FRAMES` (both) and `CLIENT_FRAMES` (client → server). The code
that builds a frame annotates it with its type (mypy checks it); tests/hub/test_frames.py holds real
frames, captured from sockets, to these types with `problems()` — a key missing, a key too many or a
value of the wrong type is a failure — and checks that docs/frames.md is this module's output.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from importlib import import_module
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

# The modules that declare frames, in the order the page lists them.
FRAME_MODULES = ("hub.realtime.frames", "chat.frames", "alerts.frames", "requests.frames", "duty.frames",
                 "events.frames")
SOCKETS = {
    "ANY_SOCKET_FRAMES": "Every socket",
    "TOPIC_FRAMES": "`/ws/topics/{slug}/` (a topic channel)",
    "NOTIFICATION_FRAMES": "`/ws/notifications/` (the caller's own stream)",
    "CLIENT_FRAMES": "Client → server",
}


def _modules() -> Iterator[types.ModuleType]:
    for name in FRAME_MODULES:
        try:
            yield import_module(name)
        except ModuleNotFoundError as exc:  # an app that is not installed declares nothing
            if exc.name != name:
                raise


def registry() -> dict[str, list[type]]:
    """socket tuple name → the frame types declared for it, across the apps."""
    found: dict[str, list[type]] = {key: [] for key in SOCKETS}
    for module in _modules():
        for key in SOCKETS:
            for frame_type in getattr(module, key, ()):
                if frame_type not in found[key]:
                    found[key].append(frame_type)
    return found


def type_literal(frame_type: type) -> str:
    """The value of a frame type's `type` key."""
    (value,) = get_args(_hints(frame_type)["type"])
    return str(value)


def server_frames() -> dict[str, type]:
    """`type` value → its TypedDict, for every frame the server sends."""
    found = registry()
    return {type_literal(t): t for key in SOCKETS if key != "CLIENT_FRAMES" for t in found[key]}


# --- checking a frame --------------------------------------------------------------------------

def _hints(typed_dict: type) -> dict[str, Any]:
    module = sys.modules[typed_dict.__module__]
    return get_type_hints(typed_dict, globalns=vars(module), include_extras=True)


def _is_typed_dict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def optional_keys(typed_dict: type) -> set[str]:
    """The keys a frame may leave out. Not `__optional_keys__`: with postponed annotations (`from
    __future__ import annotations`) Python 3.11's TypedDict cannot see `NotRequired` in them."""
    hints = _hints(typed_dict)
    total = getattr(typed_dict, "__total__", True)
    return {key for key, hint in hints.items()
            if get_origin(hint) is NotRequired or (not total and get_origin(hint) is not Required)}


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) in (Required, NotRequired):
        (tp,) = get_args(tp)
    return tp


def problems(value: Any, tp: Any, path: str = "frame") -> list[str]:
    """Where `value` (parsed JSON) departs from the type `tp`: missing and unexpected keys, wrong types."""
    tp = _unwrap(tp)
    if tp is Any or tp is object:
        return []
    if _is_typed_dict(tp):
        if not isinstance(value, dict):
            return [f"{path}: an object expected, got {type(value).__name__}"]
        hints = _hints(tp)
        required = set(hints) - optional_keys(tp)
        found = [f"{path}.{key}: missing" for key in sorted(required) if key not in value]
        found += [f"{path}.{key}: not in {tp.__name__}" for key in sorted(set(value) - set(hints))]
        for key, hint in hints.items():
            if key in value:
                found += problems(value[key], hint, f"{path}.{key}")
        return found
    origin = get_origin(tp)
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{path}: {value!r} is not one of {get_args(tp)}"]
    if origin in (Union, types.UnionType):
        options = [problems(value, option, path) for option in get_args(tp)]
        return [] if any(not found for found in options) else min(options, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: a list expected"]
        (item,) = get_args(tp)
        return [p for i, element in enumerate(value) for p in problems(element, item, f"{path}.{i}")]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{path}: an object expected"]
    if tp is type(None):
        return [] if value is None else [f"{path}: null expected"]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{path}: true or false expected"]
    if tp is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: an integer expected"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{path}: a string expected"]
    raise TypeError(f"{path}: no check for {tp!r}")


# --- the page ----------------------------------------------------------------------------------

def _spell(tp: Any) -> str:
    tp = _unwrap(tp)
    if _is_typed_dict(tp):
        return str(tp.__name__)
    origin = get_origin(tp)
    if origin is Literal:
        return " \\| ".join(f'`"{v}"`' for v in get_args(tp))
    if origin in (Union, types.UnionType):
        return " \\| ".join(_spell(option) for option in get_args(tp))
    if origin is list:
        return f"list of {_spell(get_args(tp)[0])}"
    if origin is dict:
        return "object"
    if tp is type(None):
        return "null"
    return {str: "string", int: "integer", bool: "boolean"}.get(tp, "any")


def _doc(tp: type) -> str:
    text = (tp.__doc__ or "").strip()
    return "" if text.startswith(f"{tp.__name__}(") else " ".join(text.split())  # not the generated signature


def _table(tp: type) -> list[str]:
    lines = [f"#### {tp.__name__}", ""]
    if _doc(tp):
        lines += [_doc(tp), ""]
    lines += ["| key | type | always there |", "| --- | --- | --- |"]
    optional = optional_keys(tp)
    for key, hint in _hints(tp).items():
        lines.append(f"| `{key}` | {_spell(hint)} | {'no' if key in optional else 'yes'} |")
    return [*lines, ""]


def _nested(tp: Any, seen: list[type]) -> None:
    tp = _unwrap(tp)
    if _is_typed_dict(tp):
        if tp in seen:
            return
        seen.append(tp)
        for hint in _hints(tp).values():
            _nested(hint, seen)
    for arg in get_args(tp):
        _nested(arg, seen)


def page() -> str:
    found = registry()
    lines = [
        "# WebSocket frames",
        "",
        "Generated from the frame types (`python -m hub.realtime.frame_types > docs/frames.md`); "
        "tests/hub/test_frames.py fails when this page and the types differ, and holds real frames to "
        "the types key for key. Timestamps are ISO 8601 in UTC with milliseconds (`2026-11-26T06:09:21.549Z`). "
        "Handshakes, close codes and the `sync`/`batch` rules: docs/chat.md and docs/api.md.",
        "",
    ]
    objects: list[type] = []
    for key, title in SOCKETS.items():
        lines += [f"## {title}", ""]
        for tp in found[key]:
            lines += _table(tp)
            for hint in _hints(tp).values():
                _nested(hint, objects)
    lines += ["## Objects inside frames", ""]
    for tp in objects:
        if tp not in {t for group in found.values() for t in group}:
            lines += _table(tp)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    import django

    django.setup()
    sys.stdout.write(page())
