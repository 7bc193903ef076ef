"""Where a WebSocket consumer's database work runs."""

from __future__ import annotations

from channels.db import DatabaseSyncToAsync


def in_worker_thread(fn):
    """`fn` (sync, using the ORM) as a coroutine run in one of the event loop's worker threads, with
    Django's connection hygiene around it as Channels' `database_sync_to_async` does. Not that
    decorator's default single thread per process: every socket's posts, syncs and checks queued
    behind one another there, so one slow commit (an fsync) held up every other sender, and the
    process stored at most one message at a time. A socket still handles its own frames in order;
    the topic's row lock orders messages within a topic (chat.services.post_message)."""
    return DatabaseSyncToAsync(fn, thread_sensitive=False)
