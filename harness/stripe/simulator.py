"""``StripeSimulator``: the stateful Stripe, served by uvicorn on a background thread.

The listening socket is bound in ``__init__``'s caller thread by ``start`` (port 0 picks a free
one), so ``url`` is known before the server runs and no request can race the start-up.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable
from functools import partial
from types import TracebackType
from typing import Any, Literal

import uvicorn
from starlette.types import Scope

from harness.stack.network import check_url_allowed
from harness.stripe.app import build_app
from harness.stripe.faults import Faults
from harness.stripe.idempotency import IdempotencyStore
from harness.stripe.ledger import Ledger, RequestLog
from harness.stripe.store import PayOutcome, SimulatorError, StripeState
from harness.stripe.webhooks import DEFAULT_MAX_ATTEMPTS, DeliveryLog, WebhookDispatcher

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0

__all__ = ["SimulatorError", "StripeSimulator"]


class StripeSimulator:
    """A Stripe that keeps state, honours idempotency keys and delivers signed webhooks.

    Every API request is validated by the real stripe-mock at ``stripe_mock_url``. Use it as a
    context manager, or ``start()`` / ``stop()``.
    """

    def __init__(
        self,
        stripe_mock_url: str,
        *,
        webhook_secret: str,
        retry_time_factor: float = 0.001,
        host: str = "127.0.0.1",
        port: int = 0,
        max_delivery_attempts: int = DEFAULT_MAX_ATTEMPTS,
        delivery_timeout_s: float = 5.0,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        # Loopback only, unless the user named a host: stripe-mock and webhook endpoints may
        # live there. The simulator itself always listens on loopback.
        self.allowed_hosts = tuple(allowed_hosts)
        check_url_allowed(stripe_mock_url, self.allowed_hosts)
        check_url_allowed(f"http://{host}")
        if not webhook_secret.startswith("whsec_"):
            raise ValueError("webhook_secret must be a whsec_… secret")
        self.stripe_mock_url = stripe_mock_url.rstrip("/")
        self.host = host
        self._requested_port = port
        self._webhook_secret = webhook_secret
        self.faults = Faults()
        self._requests = RequestLog()
        self._idempotency = IdempotencyStore()
        self._deliveries = DeliveryLog()
        self._dispatcher = WebhookDispatcher(
            webhook_secret,
            self.faults,
            self._deliveries,
            retry_time_factor=retry_time_factor,
            max_attempts=max_delivery_attempts,
            timeout_s=delivery_timeout_s,
            check_url=partial(check_url_allowed, allowed_hosts=self.allowed_hosts),
        )
        self._state = StripeState(self._dispatcher.publish, lambda: self.url)
        self.ledger = Ledger(self._state, self._idempotency, self._deliveries, self._requests)
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    def __repr__(self) -> str:  # the secret stays out of reprs, and so out of logs
        state = "running" if self.running else "stopped"
        return f"<StripeSimulator {state} {self.url if self._socket else ''}>"

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not started")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    @property
    def webhook_secret(self) -> str:
        """The ``whsec_…`` secret webhooks are signed with (a target's STRIPE_WEBHOOK_SECRET)."""
        return self._webhook_secret

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the simulator is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock

        def ready(loop: asyncio.AbstractEventLoop) -> None:
            self._loop = loop
            self._ready.set()

        config = uvicorn.Config(
            build_app(self, ready),
            http="h11",
            lifespan="on",
            log_config=None,  # leave the host process's logging alone
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="stripe-simulator", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or not self._thread.is_alive():
            self.stop()
            raise RuntimeError("the Stripe simulator did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._server = None
        self._ready.clear()

    def __enter__(self) -> StripeSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _abort_connection(self, scope: Scope) -> bool:
        """Reset the client's TCP connection (on the loop): its answer is lost."""
        client = scope.get("client")
        server = self._server
        if server is None or client is None:
            return False
        # uvicorn keeps its live protocols in server_state; each knows its peer and transport.
        for protocol in list(server.server_state.connections):
            peer: Any = getattr(protocol, "client", None)
            transport: Any = getattr(protocol, "transport", None)
            if peer is not None and tuple(peer) == tuple(client) and transport is not None:
                transport.abort()
                return True
        return False

    # -- webhooks -------------------------------------------------------------------------

    def add_webhook_endpoint(self, url: str) -> None:
        """Deliver every later event to ``url`` (loopback, or a host the user allowed)."""
        self._dispatcher.add_endpoint(url)

    @property
    def webhook_endpoints(self) -> list[str]:
        return self._dispatcher.endpoints

    def wait_for_deliveries(self, timeout_s: float = 10.0) -> None:
        """Block until no delivery is pending or retrying; raises TimeoutError."""
        self._dispatcher.wait_idle(timeout_s)

    @property
    def pending_deliveries(self) -> int:
        return self._dispatcher.pending()

    def release_held_webhooks(self) -> None:
        """Deliver the events a ``reorder_webhooks`` rule still holds (newest first)."""
        if self._loop is None:
            raise RuntimeError("the simulator is not running")
        self._loop.call_soon_threadsafe(self._dispatcher.flush_held_now)

    def redeliver(self, event_id: str) -> None:
        """Send a stored event again, as the Dashboard's "Resend" does."""
        event = self._state.find_event(event_id)
        if event is None:
            raise SimulatorError(f"no event {event_id!r}")
        self._dispatcher.redeliver(event)

    def forge_event(self, session_id: str, event_type: str = "checkout.session.completed") -> str:
        """Send an event claiming ``session_id`` is paid, signed with an attacker's secret.

        It is not a Stripe event (not in ``ledger.events()``); its deliveries are in the ledger
        with ``kind="forged"``. Returns the forged event's id.
        """
        event = self._state.forged_completion(session_id, event_type)
        self._dispatcher.send_forged(event)
        return str(event["id"])

    # -- customer actions -----------------------------------------------------------------

    def pay(
        self,
        session_id: str,
        *,
        outcome: Literal["paid", "async_succeeded", "async_failed"] = "paid",
    ) -> None:
        """The customer pays an open session.

        ``paid``: ``checkout.session.completed`` with ``payment_status=paid``. ``async_…``:
        ``checkout.session.completed`` (unpaid), then ``…async_payment_succeeded``/``_failed``.
        """
        chosen: PayOutcome = outcome
        self._state.pay(session_id, chosen)

    def begin_async_payment(self, session_id: str) -> None:
        """First half of an asynchronous payment: completed, still unpaid."""
        self._state.begin_async_payment(session_id)

    def settle_async_payment(self, session_id: str, *, succeeded: bool = True) -> None:
        """Second half: ``async_payment_succeeded`` or ``async_payment_failed``."""
        self._state.settle_async_payment(session_id, succeeded=succeeded)

    def expire(self, session_id: str) -> None:
        """The session expires (early): ``checkout.session.expired``."""
        self._state.expire(session_id)

    def abandon(self, session_id: str) -> None:
        """The customer walks away; Stripe expires the session."""
        self._state.expire(session_id)
