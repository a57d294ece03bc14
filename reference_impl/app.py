"""HTTP: the contract's routes, thin handlers over the services, and the error mapping.

Handlers validate, authorise and delegate; they hold no SQL and no Redis commands. Every failure
has a deliberate status: bad input is 4xx (never 5xx), a dependency that is down is 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl import errors
from reference_impl.checkout import CheckoutService
from reference_impl.config import Config
from reference_impl.errors import ApiError, DependencyDown, StripeRejected
from reference_impl.fulfilment import Fulfilment
from reference_impl.inventory import Inventory, StockConflict
from reference_impl.logging import get_logger, remember_pii
from reference_impl.models import (
    SKU_PATTERN,
    AdminProductOut,
    CartCreate,
    CartCreated,
    CartOut,
    CheckoutIn,
    CheckoutOut,
    ItemQuantity,
    LineItem,
    OrderOut,
    ProductIn,
    ProductOut,
)
from reference_impl.outbox import OutboxWorker
from reference_impl.repositories import Repositories
from reference_impl.repositories.database import Database
from reference_impl.stripe_client import StripeClient
from reference_impl.webhooks import WebhookRejected, parse_event, verify_signature

log = get_logger("http")

_MAX_BODY_BYTES = 256 * 1024
_STARTUP_DEADLINE_S = 90.0


@dataclass
class Runtime:
    """Everything the process holds; built at start-up, torn down at shutdown."""

    config: Config
    db: Database
    inventory: Inventory
    stripe: StripeClient
    checkout: CheckoutService
    fulfilment: Fulfilment
    worker: OutboxWorker
    ready: bool = False
    fatal: bool = False
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, config: Config) -> Runtime:
        db = Database(config.database_url.get_secret_value())
        inventory = Inventory(config.redis_url.get_secret_value())
        stripe = StripeClient(config.stripe_api_base, config.stripe_secret_key)
        checkout = CheckoutService(config, db, inventory, stripe)
        fulfilment = Fulfilment(db, inventory, stripe)
        worker = OutboxWorker(config, db, inventory, fulfilment, checkout)
        return cls(config, db, inventory, stripe, checkout, fulfilment, worker)

    async def start(self) -> None:
        """Connect, migrate, then serve; until then /health says 503 (contract 6.7)."""
        deadline = time.monotonic() + _STARTUP_DEADLINE_S
        pause = 0.1
        while not self.stop.is_set():
            try:
                await self.db.open(timeout_s=5.0)
                applied = await self.db.migrate()
                await self.inventory.ping()
                await self.inventory.warm_up()
                break
            except (DependencyDown, TimeoutError, OSError) as exc:
                if time.monotonic() >= deadline:
                    log.error("startup.failed", reason=str(exc))
                    self.fatal = True
                    os.kill(os.getpid(), signal.SIGTERM)  # let uvicorn shut down cleanly
                    return
                log.warning("startup.waiting", reason=str(exc))
                await asyncio.sleep(pause)  # back off between connection attempts
                pause = min(pause * 2, 2.0)
        else:
            return
        log.info("startup.ready", migrations_applied=applied)
        self.tasks.append(asyncio.create_task(self.worker.run(self.stop)))
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        self.stop.set()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10.0)
        await self.stripe.close()
        await self.inventory.close()
        await self.db.close()


class BodyLimit:
    """Refuse oversized bodies up front (413), before anything buffers them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"content-length" and (
                    not value.isdigit() or int(value) > _MAX_BODY_BYTES
                ):
                    response = JSONResponse({"error": "body_too_large"}, status_code=413)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# --- dependencies (module level: FastAPI resolves these annotations by name) -------------------


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def ready(request: Request) -> Runtime:
    runtime = _runtime(request)
    if not runtime.ready:
        raise ApiError(503, {"error": "not_ready"})
    return runtime


def admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    token = _runtime(request).config.admin_token.get_secret_value()
    given = (authorization or "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        raise ApiError(401, {"error": "unauthorized"})


def user(x_user_id: Annotated[str | None, Header()] = None) -> str:
    if not x_user_id:
        raise errors.forbidden()  # contract 6.2: a missing X-User-Id is someone else's cart
    return x_user_id


Ready = Annotated[Runtime, Depends(ready)]
Admin = Annotated[None, Depends(admin)]
User = Annotated[str, Depends(user)]


def create_app(config: Config) -> FastAPI:
    runtime = Runtime.build(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.tasks.append(asyncio.create_task(runtime.start()))
        yield
        await runtime.close()

    app = FastAPI(
        title="checkout-chaos reference checkout",
        version="1.0.0",
        lifespan=lifespan,
        description="The checkout contract (v1.1), done carefully.",
    )
    app.state.runtime = runtime
    app.add_middleware(BodyLimit)
    _install_error_handlers(app)

    # --- routes -----------------------------------------------------------------------------

    @app.get("/health")
    async def health() -> JSONResponse:
        if runtime.ready:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    @app.put("/admin/products/{sku}", response_model=AdminProductOut)
    async def put_product(
        sku: str, body: Annotated[ProductIn, Body()], rt: Ready, _admin: Admin
    ) -> AdminProductOut:
        if not SKU_PATTERN.match(sku):
            raise errors.unprocessable("invalid_sku", "sku must be 1-64 of [A-Za-z0-9._:-]")
        async with rt.db.transaction() as repos:
            product = await repos.products.upsert(sku, body.name, body.price_cents)
            try:
                # Inside the transaction: a refused or failed stock change undoes the upsert.
                level = await rt.inventory.set_stock(sku, body.stock)
            except StockConflict as exc:
                raise errors.unprocessable(
                    "stock_below_reserved",
                    f"{exc.level.reserved} units are reserved; stock cannot go below that",
                ) from exc
        log.info("product.put", sku=sku, price_cents=product.price_cents, stock=level.stock)
        return AdminProductOut(
            sku=sku,
            name=product.name,
            price_cents=product.price_cents,
            available=level.available,
            stock=level.stock,
        )

    @app.get("/products/{sku}", response_model=ProductOut)
    async def get_product(sku: str, rt: Ready) -> ProductOut:
        if not SKU_PATTERN.match(sku):
            raise errors.not_found("product")
        async with rt.db.transaction() as repos:
            product = await repos.products.get(sku)
        if product is None:
            raise errors.not_found("product")
        level = await rt.inventory.level(sku)
        return ProductOut(
            sku=sku, name=product.name, price_cents=product.price_cents, available=level.available
        )

    @app.post("/carts", status_code=201, response_model=CartCreated)
    async def create_cart(body: Annotated[CartCreate, Body()], rt: Ready) -> CartCreated:
        async with rt.db.transaction() as repos:
            cart_id = await repos.carts.create(body.user_id)
        return CartCreated(cart_id=str(cart_id))

    @app.get("/carts/{cart_id}", response_model=CartOut)
    async def get_cart(cart_id: str, rt: Ready, user_id: User) -> CartOut:
        async with rt.db.transaction() as repos:
            cart = await _owned_cart(repos, cart_id, user_id)
            return await _cart_out(repos, cart.cart_id, cart.user_id)

    @app.put("/carts/{cart_id}/items/{sku}", response_model=CartOut)
    async def put_item(
        cart_id: str, sku: str, body: Annotated[ItemQuantity, Body()], rt: Ready, user_id: User
    ) -> CartOut:
        async with rt.db.transaction() as repos:
            cart = await _owned_cart(repos, cart_id, user_id, for_update=True)
            if not SKU_PATTERN.match(sku) or await repos.products.get(sku) is None:
                raise errors.not_found("product")
            if cart.status != "open":
                raise errors.conflict("cart_locked", detail="the cart is checked out")
            await repos.carts.set_quantity(cart.cart_id, sku, body.quantity)
            out = await _cart_out(repos, cart.cart_id, cart.user_id)
            if out.total_cents > 99_999_999:
                # Raised inside the transaction: the change is rolled back.
                raise errors.unprocessable("amount_too_large", "the cart total is above the limit")
            return out

    @app.post(
        "/carts/{cart_id}/checkout",
        status_code=201,
        response_model=CheckoutOut,
        responses={409: {"description": "out of stock or cart changed"}},
    )
    async def checkout(
        cart_id: str,
        body: Annotated[CheckoutIn, Body()],
        rt: Ready,
        user_id: User,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        # First thing: the customer's details join the redaction list before anything can log.
        remember_pii(*body.pii_values())
        if idempotency_key is not None and not (1 <= len(idempotency_key) <= 100):
            raise errors.unprocessable("invalid_idempotency_key", "Idempotency-Key: 1-100 chars")
        cart_uuid = _parse_cart_id(cart_id)
        status, answer = await rt.checkout.checkout(
            cart_id=cart_uuid, user_id=user_id, client_key=idempotency_key, contact=body
        )
        return JSONResponse(answer, status_code=status)

    @app.post("/webhooks/stripe")
    async def stripe_webhook(
        request: Request,
        rt: Ready,
        stripe_signature: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        payload = await request.body()
        try:
            verify_signature(
                payload,
                stripe_signature,
                config.stripe_webhook_secret.get_secret_value(),
                config.webhook_tolerance_s,
            )
            data = parse_event(payload)
            if data is not None:
                await rt.fulfilment.handle(data)
        except WebhookRejected as exc:
            log.warning("webhook.rejected", reason=exc.reason)
            return JSONResponse({"error": "invalid_event", "reason": exc.reason}, status_code=400)
        return JSONResponse({"received": True})

    @app.get("/admin/orders", response_model=list[OrderOut])
    async def list_orders(rt: Ready, _admin: Admin) -> list[OrderOut]:
        async with rt.db.transaction() as repos:
            orders = await repos.orders.list_all()
        return [
            OrderOut(
                order_id=str(o.order_id),
                cart_id=str(o.cart_id),
                user_id=o.user_id,
                checkout_session_id=o.checkout_session_id,
                status=o.status,
                amount_total=o.amount_total,
                items=[LineItem.model_validate(item) for item in o.items],
            )
            for o in orders
        ]

    return app


def _parse_cart_id(cart_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(cart_id)
    except ValueError:
        raise errors.not_found("cart") from None  # no cart can have that id


async def _owned_cart(
    repos: Repositories, cart_id: str, user_id: str, *, for_update: bool = False
) -> Any:
    cart = await repos.carts.get(_parse_cart_id(cart_id), for_update=for_update)
    if cart is None:
        raise errors.not_found("cart")
    if cart.user_id != user_id:
        raise errors.forbidden()
    return cart


async def _cart_out(repos: Repositories, cart_id: uuid.UUID, user_id: str) -> CartOut:
    lines = await repos.carts.lines(cart_id)
    items = [
        LineItem(sku=line.sku, quantity=line.quantity, unit_price_cents=line.unit_price_cents)
        for line in lines
    ]
    return CartOut(
        cart_id=str(cart_id),
        user_id=user_id,
        items=items,
        total_cents=sum(i.quantity * i.unit_price_cents for i in items),
    )


def _install_error_handlers(app: FastAPI) -> None:
    Handler = Callable[[Request, Any], Awaitable[JSONResponse]]

    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # 422 as the contract says, but without echoing input values (they may be PII).
        detail = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in list(exc.errors())[:20]
        ]
        return JSONResponse({"error": "invalid_request", "detail": detail}, status_code=422)

    async def dependency_down(_request: Request, exc: DependencyDown) -> JSONResponse:
        log.warning("dependency.down", dependency=exc.dependency, reason=exc.reason)
        return JSONResponse(
            {"error": "dependency_unavailable", "dependency": exc.dependency},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    async def stripe_rejected(_request: Request, exc: StripeRejected) -> JSONResponse:
        log.error("stripe.rejected", status=exc.status, code=exc.code)
        return JSONResponse({"error": "payment_provider_rejected"}, status_code=502)

    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": "http_error", "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unhandled", path=request.url.path, error=type(exc).__name__)
        return JSONResponse({"error": "internal"}, status_code=500)

    handlers: dict[type[Exception], Handler] = {
        ApiError: api_error,
        RequestValidationError: validation_error,
        DependencyDown: dependency_down,
        StripeRejected: stripe_rejected,
        StarletteHTTPException: http_error,
        Exception: unexpected,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
