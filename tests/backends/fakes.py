"""Scripted OpenAI-style HTTP peers on loopback for the backends room's tests."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: after `delay_s`, the status, headers and body.

    `trickle_s` sends the body one byte at a time with that gap (the head
    too when `trickle_head`); `length=False` leaves out Content-Length, so
    the body ends when the connection closes.
    """

    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    trickle_s: float = 0.0
    trickle_head: bool = False
    length: bool = True


@dataclass
class FakeServer:
    """A scripted OpenAI-ish peer on 127.0.0.1 that records what it was sent."""

    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Per answer, whether all of it was sent before the client hung up.
    sent_whole: list[bool] = field(default_factory=list)
    _answered: threading.Condition = field(default_factory=threading.Condition)

    def wait_answers(self, n: int, timeout_s: float = 30.0) -> list[bool]:
        """`sent_whole` once `n` answers have ended (the client may leave first)."""
        with self._answered:
            self._answered.wait_for(lambda: len(self.sent_whole) >= n, timeout_s)
        return self.sent_whole


def completion_json(text: str = "hold", cached: int = 3) -> bytes:
    return json.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 2,
                "total_tokens": 14,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
    ).encode()


def send(out: Any, data: bytes, gap_s: float) -> None:
    """Write `data` at once, or one byte every `gap_s` seconds."""
    if not gap_s:
        out.write(data)
        return
    for i in range(len(data)):
        threading.Event().wait(gap_s)
        out.write(data[i : i + 1])
        out.flush()


def start_fake(servers: list[ThreadingHTTPServer], *replies: Reply) -> FakeServer:
    """Serve `replies` in order (the last one repeats) until the caller shuts it down."""
    state = FakeServer(url="", replies=list(replies))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
            )
            # The last scripted reply repeats once the script runs out.
            reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            if reply.delay_s:
                threading.Event().wait(reply.delay_s)
            head = (
                f"HTTP/1.0 {reply.status} Scripted\r\n"
                "Content-Type: application/json\r\n"
                + (f"Content-Length: {len(reply.body)}\r\n" if reply.length else "")
                + "\r\n"
            ).encode()
            whole = False
            # The client may have given up already (the timeout tests).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                send(self.wfile, head, reply.trickle_s if reply.trickle_head else 0.0)
                send(self.wfile, reply.body, reply.trickle_s)
                whole = True
            with state._answered:
                state.sent_whole.append(whole)
                state._answered.notify_all()
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    servers.append(server)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return state
