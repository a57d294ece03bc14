"""The simulator's HTTP face: Stripe's API under ``/v1`` and the harness's admin routes.

Every API request goes through one pipeline, in Stripe's order:

1. authentication (test keys only),
2. faults armed for before the request runs (429, slow, hold),
3. idempotency (replay, mismatch, key in use),
4. validation by forwarding the request to stripe-mock (its rejections are relayed as they are,
   and store nothing for the key),
5. execution against the stored state (or an armed 500), the result stored for the key,
6. the answer, unless an armed ambiguous fault loses it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from harness.stripe import faults as faults_module
from harness.stripe.formcodec import Form, FormError, decode
from harness.stripe.idempotency import (
    MAX_KEY_LENGTH,
    InUse,
    Mismatch,
    Replay,
    Started,
    StoredResponse,
)
from harness.stripe.ledger import ApiRequest
from harness.stripe.objects import JSON, StripeError, invalid, mask_key, new_id
from harness.stripe.store import SimulatorError

if TYPE_CHECKING:  # pragma: no cover
    from harness.stripe.simulator import StripeSimulator

FORWARD_TIMEOUT_S = 10.0
DISCONNECT_WAIT_S = 2.0


@dataclass(frozen=True)
class Call:
    """One API request, decoded."""

    method: str
    path: str
    params: Form  # the form body (POST) or the query (GET, DELETE)
    request_id: str
    idempotency_key: str | None

    @property
    def expand(self) -> list[str]:
        raw = self.params.get("expand", [])
        if isinstance(raw, str):
            return [raw]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise invalid("Invalid array", param="expand")
        return list(raw)


def _json_bytes(body: JSON) -> bytes:
    return json.dumps(body, indent=2).encode()


def _error_response(error: StripeError, request_id: str) -> Response:
    return Response(
        _json_bytes(error.body()),
        error.status,
        headers={"Request-Id": request_id, **error.headers},
        media_type="application/json",
    )


def _api_key(request: Request) -> str:
    """The secret key from ``Authorization`` (Bearer, or Basic with the key as user name)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = value.strip()
    elif scheme.lower() == "basic":
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            key = base64.b64decode(value.strip()).decode().split(":", 1)[0]
    if key.startswith(("sk_live_", "rk_live_")):
        raise StripeError(
            401,
            "invalid_request_error",
            "This is the Stripe simulator: it accepts test keys (sk_test_…) only, never a live "
            "key. Use a test-mode secret key.",
            "api_key_live_mode",
        )
    if not re.fullmatch(r"sk_test_[A-Za-z0-9]+", key):
        raise StripeError(
            401,
            "invalid_request_error",
            "Invalid API Key provided. Authenticate with `Authorization: Bearer sk_test_…`."
            if key
            else "You did not provide an API key. Authenticate with `Authorization: Bearer "
            "sk_test_…`.",
        )
    return key


class DropResponse(Response):
    """Loses the answer: the connection is reset before a byte of it is sent."""

    def __init__(self, abort: Callable[[Scope], bool]) -> None:
        super().__init__(status_code=200)
        self._abort = abort

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._abort(scope):
            raise RuntimeError("could not find the connection to drop")
        # Wait for the server to notice, so it does not answer a 500 on the dead connection.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DISCONNECT_WAIT_S):
                while (await receive())["type"] != "http.disconnect":
                    pass


Handler = Callable[["Engine", Call, JSON], JSON]


def _session_create(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.create_session(template, call.params, call.expand)


def _session_list(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.list_sessions(call.params)


def _session_get(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.get_session(call.path.split("/")[4], call.expand)


def _session_items(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.session_line_items(call.path.split("/")[4])


def _session_expire(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.expire_session(
        call.path.split("/")[4], (call.request_id, call.idempotency_key)
    )


def _refund_create(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.create_refund(template, call.params)


def _refund_get(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.get_refund(call.path.split("/")[3])


def _refund_list(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.list_refunds(call.params)


def _intent_get(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.get_payment_intent(call.path.split("/")[3])


def _event_get(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.get_event(call.path.split("/")[3])


def _event_list(engine: Engine, call: Call, template: JSON) -> JSON:
    return engine.state.list_events(call.params)


_ID = r"[A-Za-z0-9_]+"
STATEFUL: list[tuple[str, re.Pattern[str], Handler]] = [
    ("POST", re.compile(r"/v1/checkout/sessions"), _session_create),
    ("GET", re.compile(r"/v1/checkout/sessions"), _session_list),
    ("GET", re.compile(rf"/v1/checkout/sessions/{_ID}"), _session_get),
    ("GET", re.compile(rf"/v1/checkout/sessions/{_ID}/line_items"), _session_items),
    ("POST", re.compile(rf"/v1/checkout/sessions/{_ID}/expire"), _session_expire),
    ("POST", re.compile(r"/v1/refunds"), _refund_create),
    ("GET", re.compile(r"/v1/refunds"), _refund_list),
    ("GET", re.compile(rf"/v1/refunds/{_ID}"), _refund_get),
    ("GET", re.compile(rf"/v1/payment_intents/{_ID}"), _intent_get),
    ("GET", re.compile(r"/v1/events"), _event_list),
    ("GET", re.compile(rf"/v1/events/{_ID}"), _event_get),
]


def _subject(params: JSON) -> str | None:
    """What a request is about: the payment intent it refunds or the cart a session is for."""
    for name in ("payment_intent", "client_reference_id"):
        value = params.get(name)
        if isinstance(value, str):
            return value
    return None


def _handler(method: str, path: str) -> Handler | None:
    for route_method, pattern, handler in STATEFUL:
        if route_method == method and pattern.fullmatch(path):
            return handler
    return None


class Engine:
    """The API pipeline; one per simulator."""

    def __init__(self, sim: StripeSimulator) -> None:
        self.sim = sim
        self.state = sim._state
        self._client: httpx.AsyncClient | None = None

    async def startup(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.sim.stripe_mock_url, timeout=FORWARD_TIMEOUT_S, trust_env=False
        )

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _log(
        self, call: Call, account: str, status: int, replayed: bool, fault: str | None
    ) -> None:
        self.sim._requests.add(
            ApiRequest(
                call.request_id,
                call.method,
                call.path,
                account,
                call.idempotency_key,
                status,
                replayed,
                fault,
                time.time(),
                _subject(call.params),
            )
        )

    async def handle(self, request: Request) -> Response:
        request_id = new_id("req_", 14)
        method, path = request.method, request.url.path
        try:
            api_key = _api_key(request)
        except StripeError as error:
            return _error_response(error, request_id)
        account = mask_key(api_key)
        struck: str | None = None

        pre = self.sim.faults.take_api("pre", method, path)
        if pre is not None:
            struck = pre.kind
            if pre.kind == "rate_limit_429":
                limited = StripeError(
                    429,
                    "invalid_request_error",
                    "Too many requests hit the API too quickly. Retry with exponential backoff.",
                    "rate_limit",
                )
                call = Call(method, path, {}, request_id, request.headers.get("idempotency-key"))
                self._log(call, account, 429, False, struck)
                return _error_response(limited, request_id)
            if pre.kind == "slow":
                await asyncio.sleep(pre.delay_s)

        body = await request.body()
        try:
            params = decode(body) if method == "POST" else decode(request.url.query)
        except (FormError, UnicodeDecodeError) as exc:
            param = exc.param if isinstance(exc, FormError) else None
            bad = Call(method, path, {}, request_id, request.headers.get("idempotency-key"))
            self._log(bad, account, 400, False, struck)
            return _error_response(invalid(str(exc), param=param), request_id)

        key = request.headers.get("idempotency-key") if method == "POST" else None
        call = Call(method, path, params, request_id, key)
        started: Started | None = None
        if key is not None:
            if len(key) > MAX_KEY_LENGTH:
                self._log(call, account, 400, False, struck)
                return _error_response(
                    invalid(
                        f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                        param="Idempotency-Key",
                    ),
                    request_id,
                )
            decision = self.sim._idempotency.begin(api_key, key, method, path, params)
            if isinstance(decision, Mismatch):
                self._log(call, account, 400, False, struck)
                return _error_response(
                    StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request.",
                    ),
                    request_id,
                )
            if isinstance(decision, InUse):
                self._log(call, account, 409, False, struck)
                return _error_response(
                    StripeError(
                        409,
                        "idempotency_error",
                        "There is currently another in-progress request using this Idempotent "
                        "Key (that probably means you submitted twice, and the other request is "
                        "still going through). Please try again later.",
                        "idempotency_key_in_use",
                    ),
                    request_id,
                )
            if isinstance(decision, Replay):
                stored = decision.response
                self._log(call, account, stored.status, True, struck)
                return Response(
                    stored.body,
                    stored.status,
                    headers={
                        "Request-Id": request_id,
                        "Original-Request": stored.request_id,
                        "Idempotency-Key": key,
                        "Idempotent-Replayed": "true",
                    },
                    media_type="application/json",
                )
            started = decision

        finished = False
        try:
            if pre is not None and pre.kind == "hold" and pre.gate is not None:
                pre.gate.note_arrival()
                await asyncio.to_thread(pre.gate.wait_released)
            status, payload, exec_fault = await self._execute(call, api_key, body, request)
            if exec_fault is not None:
                struck = exec_fault.kind
            if status is None:
                # Rejected before executing (validation, stripe-mock unreachable): key stays free.
                self._log(call, account, payload.status_code, False, struck)
                return payload
            stored = StoredResponse(status, bytes(payload.body), request_id)
            if started is not None:
                self.sim._idempotency.finish(started, stored)
                finished = True
        finally:
            if started is not None and not finished:
                self.sim._idempotency.release(started)

        headers = {"Request-Id": request_id}
        if key is not None:
            headers["Idempotency-Key"] = key
        answer = Response(payload.body, status, headers=headers, media_type="application/json")
        if exec_fault is not None and exec_fault.kind == "ambiguous_drop":
            self._log(call, account, 0, False, struck)
            return DropResponse(self.sim._abort_connection)
        if exec_fault is not None and exec_fault.kind == "ambiguous_timeout":
            await asyncio.sleep(exec_fault.delay_s)
        self._log(call, account, status, False, struck)
        return answer

    async def _execute(
        self, call: Call, api_key: str, body: bytes, request: Request
    ) -> tuple[int | None, Response, faults_module.ApiFault | None]:
        """(status, answer, fault); status None means rejected before execution."""
        assert self._client is not None
        headers = {"Authorization": f"Bearer {api_key}"}
        if call.method == "POST":
            headers["Content-Type"] = request.headers.get(
                "content-type", "application/x-www-form-urlencoded"
            )
        if "stripe-version" in request.headers:
            headers["Stripe-Version"] = request.headers["stripe-version"]
        try:
            upstream = await self._client.request(
                call.method,
                call.path,
                params=request.url.query or None,
                content=body if call.method == "POST" else None,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            error = StripeError(
                500,
                "api_error",
                f"The simulator could not reach stripe-mock ({type(exc).__name__}).",
            )
            return None, _error_response(error, call.request_id), None
        if upstream.status_code >= 400:
            return (
                None,
                Response(
                    upstream.content,
                    upstream.status_code,
                    headers={"Request-Id": call.request_id},
                    media_type="application/json",
                ),
                None,
            )

        fault = self.sim.faults.take_api("exec", call.method, call.path)
        if fault is not None and fault.kind == "error_500":
            error = StripeError(
                500, "api_error", "An unknown error occurred (injected by the Stripe simulator)."
            )
            return 500, Response(_json_bytes(error.body()), 500), fault
        handler = _handler(call.method, call.path)
        if handler is None:
            # Not modelled: stripe-mock's canonical, stateless answer.
            return upstream.status_code, Response(upstream.content, upstream.status_code), fault
        try:
            template = upstream.json()
            result = handler(self, call, template if isinstance(template, dict) else {})
        except StripeError as error:
            return error.status, Response(_json_bytes(error.body()), error.status), fault
        return 200, Response(_json_bytes(result), 200), fault


# -- admin routes --------------------------------------------------------------------------

ADMIN_FAULTS = frozenset(
    {
        "fail",
        "ambiguous",
        "slow",
        "duplicate_webhooks",
        "delay_webhooks",
        "drop_webhooks",
        "reorder_webhooks",
        "tamper_webhooks",
        "stale_webhooks",
    }
)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _admin(
    action: Callable[[StripeSimulator, Request, dict[str, Any]], Awaitable[Any]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: StripeSimulator = request.app.state.sim
        try:
            result = await action(sim, request, await _json(request))
        except (SimulatorError, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except TimeoutError as exc:
            return JSONResponse({"error": str(exc)}, 504)
        return JSONResponse(result if result is not None else {"ok": True})

    return endpoint


async def _pay(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    outcome = body.get("outcome", "paid")
    if outcome not in ("paid", "async_succeeded", "async_failed"):
        raise ValueError(f"unknown outcome {outcome!r}")
    sim.pay(request.path_params["session_id"], outcome=outcome)
    return sim.ledger.session(request.path_params["session_id"])


async def _expire(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    sim.expire(request.path_params["session_id"])
    return sim.ledger.session(request.path_params["session_id"])


async def _forge(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    return {"event_id": sim.forge_event(request.path_params["session_id"], **body)}


async def _endpoint(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    sim.add_webhook_endpoint(str(body["url"]))
    return {"endpoints": sim.webhook_endpoints}


async def _arm_fault(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    kind = str(body.pop("kind", ""))
    if kind not in ADMIN_FAULTS:
        raise ValueError(f"unknown fault {kind!r}; one of {sorted(ADMIN_FAULTS)}")
    getattr(sim.faults, kind)(**body)
    return {"armed": sim.faults.armed()}


async def _clear_faults(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    sim.faults.clear()
    return {"armed": []}


async def _ledger(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    return sim.ledger.summary()


async def _wait(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    await asyncio.to_thread(sim.wait_for_deliveries, float(body.get("timeout_s", 10.0)))
    return {"pending": 0}


async def _health(sim: StripeSimulator, request: Request, body: dict[str, Any]) -> Any:
    return {"status": "ok"}


async def _hosted_page(request: Request) -> Response:
    sim: StripeSimulator = request.app.state.sim
    try:
        session = sim.ledger.session(request.path_params["session_id"])
    except KeyError:
        return JSONResponse({"error": "no such session"}, 404)
    return JSONResponse(
        {
            "id": session["id"],
            "status": session["status"],
            "amount_total": session["amount_total"],
            "currency": session["currency"],
            "pay_with": f"POST /_simulator/sessions/{session['id']}/pay",
        }
    )


def build_app(
    sim: StripeSimulator, on_ready: Callable[[asyncio.AbstractEventLoop], None]
) -> Starlette:
    engine = Engine(sim)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.startup()
        sim._dispatcher.attach(asyncio.get_running_loop())
        on_ready(asyncio.get_running_loop())
        try:
            yield
        finally:
            await sim._dispatcher.aclose()
            await engine.shutdown()

    async def api(request: Request) -> Response:
        return await engine.handle(request)

    methods = ["GET", "POST", "DELETE"]
    admin = "/_simulator"
    app = Starlette(
        routes=[
            Route("/v1/{rest:path}", api, methods=methods),
            Route(f"{admin}/health", _admin(_health), methods=["GET"]),
            Route(f"{admin}/sessions/{{session_id}}/pay", _admin(_pay), methods=["POST"]),
            Route(f"{admin}/sessions/{{session_id}}/expire", _admin(_expire), methods=["POST"]),
            Route(f"{admin}/sessions/{{session_id}}/forge", _admin(_forge), methods=["POST"]),
            Route(f"{admin}/webhook_endpoints", _admin(_endpoint), methods=["POST"]),
            Route(f"{admin}/faults", _admin(_arm_fault), methods=["POST"]),
            Route(f"{admin}/faults", _admin(_clear_faults), methods=["DELETE"]),
            Route(f"{admin}/ledger", _admin(_ledger), methods=["GET"]),
            Route(f"{admin}/wait_for_deliveries", _admin(_wait), methods=["POST"]),
            Route("/c/pay/{session_id}", _hosted_page, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.sim = sim
    return app
