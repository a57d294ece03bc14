"""Shared helpers for the simulator's tests: a receiving webhook server and request builders."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk_test_checkoutchaosTests"


def session_form(
    cart_id: str = "cart_1", *, unit_amount: int = 1500, quantity: int = 2
) -> dict[str, str]:
    """The form a contract target sends to create a Checkout Session."""
    return {
        "mode": "payment",
        "success_url": "http://127.0.0.1/ok",
        "cancel_url": "http://127.0.0.1/cancel",
        "client_reference_id": cart_id,
        "metadata[cart_id]": cart_id,
        "metadata[user_id]": "user_1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": str(unit_amount),
        "line_items[0][price_data][product_data][name]": "mug",
        "line_items[0][quantity]": str(quantity),
    }


def auth(idempotency_key: str | None = None, api_key: str = API_KEY) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {api_key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


@dataclass
class Received:
    path: str
    signature: str
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A real HTTP server on loopback that records every webhook and answers as scripted."""

    url: str
    received: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; once used up, 200 (unless ``respond`` decides).
    script: list[int] = field(default_factory=list)
    respond: Callable[[Received], int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def answer(self, item: Received) -> int:
        if self.respond is not None:
            return self.respond(item)
        with self.lock:
            return self.script.pop(0) if self.script else 200

    def record(self, item: Received) -> None:
        with self.arrived:
            self.received.append(item)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout_s):
                raise TimeoutError(f"{len(self.received)} of {count} webhooks arrived")
            return list(self.received)

    def types(self) -> list[str]:
        return [str(r.event["type"]) for r in self.received]


@contextmanager
def receiver(on_request: Callable[[Received], None] | None = None) -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            item = Received(
                self.path, self.headers.get("Stripe-Signature", ""), self.rfile.read(length)
            )
            rcv = box[0]
            status = rcv.answer(item)
            if on_request is not None:
                on_request(item)
            # Record before answering: once the simulator sees the answer, the test may look.
            rcv.record(item)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"))
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
