"""The harness's own bookkeeping: a live broadcast that lands inside a sync window is still live."""

from __future__ import annotations

import asyncio
import json

from tests.reliability.harness import TopicClient


class FakeSocket:
    close_code = 1000

    def __init__(self, frames: list[dict]) -> None:
        self.frames = [json.dumps(f) for f in frames]

    def __aiter__(self):
        return self._iter()

    async def _iter(self):
        for raw in self.frames:
            yield raw


def message(i: int, prev: int) -> dict:
    return {"type": "message", "message": {"id": i, "prev_id": prev, "client_id": None,
                                           "author": {"username": "someone"}}}


def test_frames_inside_a_sync_are_sorted_into_answer_and_live():
    client = TopicClient("listener", "token", "topic")
    client._sync_answer, client._lost, client._in_sync = asyncio.Queue(), asyncio.Event(), True
    # The answer to "sync after 10" is 11 and 12 (latest 12); 12 and 13 were also broadcast live
    # while it ran: 12 arrives twice, 13 is past the answer's end.
    frames = [message(11, 10), message(12, 11), message(13, 12), message(12, 11),
              {"type": "sync.done", "latest": 12}]
    asyncio.run(client._read(FakeSocket(frames)))
    assert sorted(client.live) == [12, 13]
    assert client.seen() == {11, 12, 13}
    assert client.live_duplicates() == 0


def test_frames_of_a_sync_answered_by_an_error_stay_synced():
    client = TopicClient("listener", "token", "topic")
    client._sync_answer, client._lost, client._in_sync = asyncio.Queue(), asyncio.Event(), True
    frames = [message(11, 10), {"type": "error", "code": "unavailable", "detail": "x"}]
    asyncio.run(client._read(FakeSocket(frames)))
    assert client.live == [] and client.synced == [11]
