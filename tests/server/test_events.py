"""The websocket of run events on a real server: status changes and followed log lines arrive;
no token, a wrong token or no role is refused at the handshake."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

import aml_jupyter as aml

from .conftest import TOKENS, Server


def _request(server: Server, who: str | None) -> HTTPRequest:
    url = server.url.replace("http://", "ws://") + "aml/api/v1/events"
    headers = {"Authorization": f"token {TOKENS.get(who, who)}"} if who else {}
    return HTTPRequest(url, headers=headers)


async def _until(conn: Any, wanted: Any, timeout: float = 30) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not any(wanted(e) for e in seen):
        left = deadline - time.monotonic()
        assert left > 0, seen
        message = await asyncio.wait_for(conn.read_message(), left)
        assert message is not None, "the server closed the socket"
        seen.append(json.loads(message))
    return seen


def test_status_changes_and_followed_lines(server: Server) -> None:
    (server.ws.root / "talk.py").write_text(
        "import time\nif __name__ == '__main__':\n"
        "    for i in range(3):\n        print('line', i, flush=True)\n        time.sleep(0.3)\n"
    )

    async def scenario() -> None:
        conn = await websocket_connect(_request(server, "reader"))
        try:
            status, run, _ = await asyncio.to_thread(
                server.call, "POST", "aml/api/v1/runs", "owner", {"experiment": "events"}
            )
            await _until(conn, lambda e: e.get("run_id") == run["id"] and e.get("status") == "running")
            await asyncio.to_thread(
                server.call, "POST", f"aml/api/v1/runs/{run['id']}/transition", "owner", {"event": "complete"}
            )
            await _until(conn, lambda e: e.get("run_id") == run["id"] and e.get("status") == "completed")
            job = await asyncio.to_thread(aml.submit, "talk.py", experiment="events", workspace=server.ws)
            conn.write_message(json.dumps({"follow": job["id"]}))
            seen = await _until(conn, lambda e: e.get("run_id") == job["id"] and e.get("status") == "completed")

            def last_line(e: dict[str, Any]) -> bool:
                return e.get("type") == "log" and "line 2" in e["lines"]

            if not any(last_line(e) for e in seen):  # the log's tail may come a poll after the end
                seen += await _until(conn, last_line, timeout=15)
            lines = [x for e in seen if e.get("type") == "log" and e["run_id"] == job["id"] for x in e["lines"]]
            assert lines == ["line 0", "line 1", "line 2"]  # each once, in order
            conn.write_message("not json")
            assert (await _until(conn, lambda e: e.get("type") == "error"))[-1]["error"] == "messages are JSON objects"
        finally:
            conn.close()
            while await asyncio.wait_for(conn.read_message(), 10) is not None:
                pass  # drained: the closing handshake is done and the socket shut

    asyncio.run(scenario())


@pytest.mark.parametrize("who", [None, "wrong-token", "stranger"])
def test_the_handshake_needs_a_reader(server: Server, who: str | None) -> None:
    async def attempt() -> None:
        await websocket_connect(_request(server, who))

    with pytest.raises(HTTPClientError) as refused:
        asyncio.run(attempt())
    assert refused.value.code == 403
