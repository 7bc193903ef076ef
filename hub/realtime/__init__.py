"""The realtime path: the WebSocket gate, the consumers' base, publishing after commit, the
per-process fan-out, audiences, and the notifications stream (docs/ARCHITECTURE.md)."""
