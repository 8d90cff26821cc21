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
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0


@dataclass
class FakeServer:
    """A scripted OpenAI-ish peer on 127.0.0.1 that records what it was sent."""

    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)


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
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            # The client may have given up already (the timeout test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    servers.append(server)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return state
