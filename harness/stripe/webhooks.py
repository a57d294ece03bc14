"""Webhook signing and delivery, as Stripe does them.

Every attempt is signed afresh: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``
keyed with the whole ``whsec_…`` secret. Delivery is at-least-once: a non-2xx answer, a timeout
or a connection error is retried on Stripe's exponential schedule, compressed by
``retry_time_factor``, up to ``max_attempts`` attempts. First attempts to one endpoint go out in
the order the events happened; chaos rules (``Faults``) duplicate, delay, drop, reorder, tamper
with and age them. Every attempt, whatever its fate, lands in the delivery log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from harness.stripe.faults import Faults, WebhookPlan

# Stripe retries for up to three days with exponential backoff; these are the waits (seconds)
# before attempts 2, 3, …, before ``retry_time_factor`` compresses them.
STRIPE_RETRY_SCHEDULE_S = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 57600, 86400)
DEFAULT_MAX_ATTEMPTS = 6
MAX_ATTEMPTS_LIMIT = len(STRIPE_RETRY_SCHEDULE_S) + 1
RESPONSE_KEEP_CHARS = 500
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

DeliveryKind = Literal["genuine", "duplicate", "tampered", "stale", "forged", "redelivery"]
Outcome = Literal["delivered", "failed", "timeout", "error", "dropped"]


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for ``payload`` at ``timestamp``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(payload: bytes, header: str, secret: str, tolerance_s: int = 300) -> bool:
    """Stripe's check: some v1 matches and the timestamp is within ``tolerance_s`` of now."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = sign(payload, secret, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one event to one endpoint (or one that chaos swallowed: ``dropped``)."""

    event_id: str
    event_type: str
    endpoint: str
    kind: DeliveryKind
    copy: int  # 1 for the genuine delivery, 2… for duplicates
    attempt: int  # 1 for the first try, 2… for retries
    outcome: Outcome
    status_code: int | None
    response_body: str
    error: str | None
    signature: str
    at: float
    took_s: float

    @property
    def succeeded(self) -> bool:
        return self.outcome == "delivered"


@dataclass
class _Job:
    event_id: str
    event_type: str
    payload: bytes
    endpoint: str
    kind: DeliveryKind
    copy: int = 1
    drops: int = 0
    delay_s: float = 0.0
    retries: bool = True  # chaos copies (tampered, stale, forged) are one attempt only
    sign_with: str | None = None  # a forged event's secret
    signed_payload: bytes | None = None  # a tampered event is signed over the original body
    age_s: int = 0
    attempt: int = 0
    attempts_log: list[DeliveryAttempt] = field(default_factory=list)


class DeliveryLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: list[DeliveryAttempt] = []

    def add(self, attempt: DeliveryAttempt) -> None:
        with self._lock:
            self._attempts.append(attempt)

    def attempts(self) -> list[DeliveryAttempt]:
        with self._lock:
            return list(self._attempts)


class WebhookDispatcher:
    """Delivers events to the registered endpoints from the simulator's event loop."""

    def __init__(
        self,
        secret: str,
        faults: Faults,
        log: DeliveryLog,
        *,
        retry_time_factor: float,
        max_attempts: int,
        timeout_s: float,
        check_url: Callable[[str], None],
    ) -> None:
        if not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(f"max_attempts must be between 1 and {MAX_ATTEMPTS_LIMIT}")
        if not 0 <= retry_time_factor <= 1:
            raise ValueError("retry_time_factor must be between 0 and 1")
        self._secret = secret
        self._faults = faults
        self._log = log
        self.retry_time_factor = retry_time_factor
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._check_url = check_url
        self._endpoints: list[str] = []
        self._pending = 0
        self._idle = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._queues: dict[str, asyncio.Queue[_Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: list[list[_Job]] = []  # events collected by a reorder rule
        self._held_batch = 0

    # -- lifecycle (called on the loop) ---------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # No proxies from the environment: deliveries stay on loopback.
        self._client = httpx.AsyncClient(timeout=self.timeout_s, trust_env=False)
        for endpoint in self._endpoints:
            self._start_worker(endpoint)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._client is not None:
            await self._client.aclose()
        with self._idle:
            # Nothing will deliver any more: waiters must not hang.
            self._pending = 0
            self._idle.notify_all()

    # -- thread-safe API ------------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    def add_endpoint(self, url: str) -> None:
        self._check_url(url)
        if url in self._endpoints:
            return
        self._endpoints.append(url)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._start_worker, url)

    def pending(self) -> int:
        with self._idle:
            return self._pending

    def wait_idle(self, timeout_s: float) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s):
                raise TimeoutError(
                    f"{self._pending} webhook deliveries still pending after {timeout_s} s"
                )

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every endpoint, as the armed chaos rules say."""
        plan = self._faults.take_webhook_plan(str(event["type"]))
        payload = json.dumps(event, indent=2).encode()
        jobs: list[_Job] = []
        for endpoint in self._endpoints:
            for copy in range(1, plan.copies + 1):
                jobs.append(
                    _Job(
                        event["id"],
                        event["type"],
                        payload,
                        endpoint,
                        "genuine" if copy == 1 else "duplicate",
                        copy=copy,
                        drops=plan.drops,
                        delay_s=plan.delay_s,
                    )
                )
            jobs += self._chaos_copies(event, endpoint, plan)
        self._submit(jobs, plan.reorder_batch)

    def redeliver(self, event: dict[str, Any]) -> None:
        payload = json.dumps(event, indent=2).encode()
        self._submit(
            [_Job(event["id"], event["type"], payload, e, "redelivery") for e in self._endpoints], 0
        )

    def send_forged(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` signed with a secret that is not the endpoint's: an attacker's."""
        payload = json.dumps(event, indent=2).encode()
        attacker = "whsec_" + secrets.token_hex(16)
        jobs = [
            _Job(
                event["id"], event["type"], payload, e, "forged", retries=False, sign_with=attacker
            )
            for e in self._endpoints
        ]
        self._submit(jobs, 0)

    # -- internals ------------------------------------------------------------------------

    def _chaos_copies(self, event: dict[str, Any], endpoint: str, plan: WebhookPlan) -> list[_Job]:
        jobs: list[_Job] = []
        if plan.tamper:
            altered = json.loads(json.dumps(event))
            obj = altered["data"]["object"]
            # What an attacker would change: the money and the payment state.
            if "amount_total" in obj:
                obj["amount_total"] = int(obj.get("amount_total") or 0) + 1
            obj["payment_status"] = "paid"
            jobs.append(
                _Job(
                    event["id"],
                    event["type"],
                    json.dumps(altered, indent=2).encode(),
                    endpoint,
                    "tampered",
                    retries=False,
                    signed_payload=json.dumps(event, indent=2).encode(),
                )
            )
        if plan.stale_age_s:
            jobs.append(
                _Job(
                    event["id"],
                    event["type"],
                    json.dumps(event, indent=2).encode(),
                    endpoint,
                    "stale",
                    retries=False,
                    age_s=plan.stale_age_s,
                )
            )
        return jobs

    def _submit(self, jobs: list[_Job], reorder_batch: int) -> None:
        if not jobs and not reorder_batch:
            return
        if self._loop is None:
            raise RuntimeError("the simulator is not running")
        with self._idle:
            self._pending += len(jobs)
        if reorder_batch:
            self._loop.call_soon_threadsafe(self._hold, jobs, reorder_batch)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, jobs)

    def _hold(self, jobs: list[_Job], batch: int) -> None:
        # An event with no endpoint still takes its place in the batch, so the batch fills.
        self._held.append(jobs)
        self._held_batch = batch
        if len(self._held) >= self._held_batch:
            self.flush_held_now()

    def flush_held_now(self) -> None:
        """Release events a reorder rule holds, newest first (on the loop)."""
        held, self._held = self._held, []
        for jobs in reversed(held):
            self._enqueue(jobs)

    def _enqueue(self, jobs: list[_Job]) -> None:
        for job in jobs:
            queue = self._queues.get(job.endpoint)
            if queue is None:
                self._start_worker(job.endpoint)
                queue = self._queues[job.endpoint]
            queue.put_nowait(job)

    def _start_worker(self, endpoint: str) -> None:
        if endpoint in self._queues:
            return
        self._queues[endpoint] = asyncio.Queue()
        self._spawn(self._worker(endpoint))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    async def _worker(self, endpoint: str) -> None:
        queue = self._queues[endpoint]
        while True:  # lives as long as the server: aclose() cancels it
            job = await queue.get()
            if job.delay_s > 0:
                # A delayed event must not hold back the ones behind it.
                self._spawn(self._run(job, job.delay_s))
                continue
            try:
                delivered = await self._attempt(job)
            except Exception:
                delivered = True  # never leave a job pending forever
            if delivered or not job.retries or job.attempt >= self.max_attempts:
                self._done()
            else:
                self._spawn(self._run(job, 0.0))

    async def _run(self, job: _Job, first_delay_s: float) -> None:
        """Attempts after the first (or a delayed first), on the compressed schedule."""
        try:
            if first_delay_s > 0:
                await asyncio.sleep(first_delay_s)
                if await self._attempt(job) or not job.retries:
                    return
            while job.attempt < self.max_attempts:
                wait = STRIPE_RETRY_SCHEDULE_S[job.attempt - 1] * self.retry_time_factor
                await asyncio.sleep(wait)
                if await self._attempt(job):
                    return
        finally:
            self._done()

    async def _attempt(self, job: _Job) -> bool:
        job.attempt += 1
        began = time.time()
        timestamp = int(began) - job.age_s
        signed = job.payload if job.signed_payload is None else job.signed_payload
        signature = sign(signed, job.sign_with or self._secret, timestamp)
        status: int | None = None
        body, error = "", None
        outcome: Outcome
        if job.drops > 0:
            job.drops -= 1
            outcome = "dropped"
        else:
            assert self._client is not None
            try:
                response = await self._client.post(
                    job.endpoint,
                    content=job.payload,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": signature,
                        "User-Agent": USER_AGENT,
                    },
                )
                status, body = response.status_code, response.text[:RESPONSE_KEEP_CHARS]
                outcome = "delivered" if 200 <= status < 300 else "failed"
            except httpx.TimeoutException as exc:
                outcome, error = "timeout", type(exc).__name__
            except httpx.HTTPError as exc:
                outcome, error = "error", f"{type(exc).__name__}: {exc}"[:RESPONSE_KEEP_CHARS]
        self._log.add(
            DeliveryAttempt(
                job.event_id,
                job.event_type,
                job.endpoint,
                job.kind,
                job.copy,
                job.attempt,
                outcome,
                status,
                body,
                error,
                signature,
                began,
                time.time() - began,
            )
        )
        return outcome == "delivered"
