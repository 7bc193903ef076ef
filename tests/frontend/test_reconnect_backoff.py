"""The browser's reconnect (frontend/static/frontend/js/socket.js, `LiveSocket.schedule`) backs off
exponentially with jitter, so that everyone cut off by a deploy does not come back in the same
millisecond (issue 27, target 1; docs/ui.md "Reconnecting"). Run under node with a stand-in
`window`: the module is the one the pages load, no browser needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOCKET_JS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "js" / "socket.js"

# 200 clients, each scheduling 10 attempts in a row (no open in between): every delay asked for.
PROBE = """
globalThis.window = {addEventListener() {}, location: {protocol: "http:", host: "hub.example"}};
globalThis.navigator = {onLine: true};
const asked = [];
globalThis.setTimeout = (fn, ms) => { asked.push(ms); return 0; };
globalThis.clearTimeout = () => {};
const {LiveSocket} = await import(process.argv[1]);
const clients = [];
for (let c = 0; c < 200; c++) {
  const socket = new LiveSocket("/ws/topics/t/");
  const delays = [];
  for (let n = 0; n < 10; n++) { asked.length = 0; socket.schedule(); delays.push(asked[0]); }
  clients.push(delays);
}
console.log(JSON.stringify(clients));
"""


def delays() -> list[list[float]]:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is needed for this test")
        pytest.skip("node is not installed")
    done = subprocess.run([node, "--input-type=module", "-e", PROBE, SOCKET_JS.as_uri()], capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_each_attempt_waits_a_random_time_between_half_and_all_of_a_doubling_ceiling():
    for client in delays():
        for attempt, delay in enumerate(client):
            ceiling = min(30_000, 500 * 2**attempt)
            assert ceiling / 2 <= delay <= ceiling, (attempt, delay)


def test_clients_cut_off_together_come_back_spread_out():
    clients = delays()
    for attempt in range(10):
        at = sorted(client[attempt] for client in clients)
        ceiling = min(30_000, 500 * 2**attempt)
        # Spread over the whole window, not one instant: the 200 retries cover most of [c/2, c] and fall
        # in at least 100 different milliseconds (about 140 expected in the narrowest, 250 ms, window).
        assert at[-1] - at[0] > 0.8 * ceiling / 2
        assert len({int(d) for d in at}) >= 100
