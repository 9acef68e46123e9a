"""A minimal OpenAI-compatible endpoint for failure injection: slow replies, HTTP errors, concurrency counts.

The real-server tests use ``transformers serve``; this one exists because a real server cannot be made
to be slow, fail N times, or report how many requests it handled at once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Behaviour:
    reply: str = "Score: 7"
    delay: float = 0.0
    fail_first: int = 0
    status: int = 500
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def stub_server(behaviour: Behaviour) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with behaviour.lock:
                behaviour.requests.append(body)
                n = len(behaviour.requests)
                behaviour.in_flight += 1
                behaviour.max_in_flight = max(behaviour.max_in_flight, behaviour.in_flight)
            try:
                time.sleep(behaviour.delay)
                if n <= behaviour.fail_first:
                    payload = json.dumps({"error": {"message": "injected failure", "type": "server_error"}}).encode()
                    self.send_response(behaviour.status)
                else:
                    payload = json.dumps(
                        {
                            "id": f"stub-{n}",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": behaviour.reply},
                                }
                            ],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                        }
                    ).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)
            finally:
                with behaviour.lock:
                    behaviour.in_flight -= 1

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
