"""Checkout as atomic phases with recovery points (Brandur Leach's rocket-rides-atomic).

A checkout is keyed by the cart: user + cart id + cart version + contents (contract 6.5: the cart,
not the client's Idempotency-Key, defines the session). The key row in ``idempotency_keys`` is
locked by one request at a time and moves through recovery points:

    started ──(atomic: lock cart, price it)──▶ cart_locked
            ──(foreign: Redis reservation)──▶ stock_reserved
            ──(foreign: Stripe session, then atomic: record it, store response)──▶ finished

Each foreign call is idempotent for the ids fixed in the phase before it (reservation id, Stripe
Idempotency-Key), so a request that died anywhere is resumed by the next one holding the key, or
rolled back by the outbox worker when nobody comes back for it. Concurrent identical checkouts wait
for the holder and then all return the one stored response.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from reference_impl import errors
from reference_impl.config import Config
from reference_impl.errors import ApiError, DependencyDown, StripeRejected
from reference_impl.inventory import Inventory
from reference_impl.logging import get_logger
from reference_impl.models import (
    MAX_AMOUNT_CENTS,
    CheckoutIn,
    CheckoutOut,
    CheckoutPlan,
    LineItem,
    StripeLineItem,
    StripeSessionConfig,
)
from reference_impl.repositories import Repositories
from reference_impl.repositories.carts import Cart
from reference_impl.repositories.database import Database
from reference_impl.repositories.idempotency import IdempotencyKey
from reference_impl.repositories.sessions import CheckoutSession
from reference_impl.stripe_client import StripeClient, StripeServerError

log = get_logger("checkout")

STARTED = "started"
CART_LOCKED = "cart_locked"
STOCK_RESERVED = "stock_reserved"
FINISHED = "finished"

_MAX_PHASES = 8  # a checkout has three phases; more steps than this means a bug, not progress
_STRIPE_KEY_GENERATIONS = 2  # after a stored 5xx, one fresh key per request (contract 6.10)


def checkout_key(cart: Cart, lines: list[LineItem]) -> str:
    contents = ",".join(f"{line.sku}x{line.quantity}" for line in lines)
    digest = hashlib.sha256(
        f"{cart.user_id}\x1f{cart.cart_id}\x1f{cart.version}\x1f{contents}".encode()
    ).hexdigest()
    return f"checkout:{digest[:40]}"


def _session_answer(session: CheckoutSession) -> dict[str, Any]:
    """The checkout answer for a cart whose session exists: that session."""
    return CheckoutOut(
        checkout_session_id=session.session_id,
        url=session.url,
        amount_total=session.amount_total,
    ).model_dump()


class CheckoutService:
    def __init__(
        self, config: Config, db: Database, inventory: Inventory, stripe: StripeClient
    ) -> None:
        self._config = config
        self._db = db
        self._inventory = inventory
        self._stripe = stripe
        self._wait_s = config.lock_timeout_s  # how long a duplicate waits for the holder

    # --- entry point -----------------------------------------------------------------------

    async def checkout(
        self, *, cart_id: uuid.UUID, user_id: str, client_key: str | None, contact: CheckoutIn
    ) -> tuple[int, dict[str, Any]]:
        async with self._db.transaction() as repos:
            cart = await repos.carts.get(cart_id)
            if cart is None:
                raise errors.not_found("cart")
            if cart.user_id != user_id:
                raise errors.forbidden()
            if client_key is not None:
                bound = await repos.keys.bind_client_key(user_id, client_key, cart_id)
                if bound != cart_id:
                    raise errors.unprocessable(
                        "idempotency_key_reused", "this Idempotency-Key belongs to another cart"
                    )
            if cart.status in ("awaiting_payment", "paid") and cart.session_id is not None:
                session = await repos.sessions.get(cart.session_id)
                if session is not None:
                    # Its session is the answer (6.4), whatever the key: no waiting for a key
                    # that a request which died mid-checkout may still hold.
                    return 201, _session_answer(session)
            lines = [
                LineItem(
                    sku=line.sku, quantity=line.quantity, unit_price_cents=line.unit_price_cents
                )
                for line in await repos.carts.lines(cart_id)
            ]
            if not lines and cart.status == "open":
                raise errors.unprocessable("empty_cart", "the cart has no items")
            key = await repos.keys.find_or_create(
                key=checkout_key(cart, lines),
                user_id=user_id,
                cart_id=cart_id,
                method="POST",
                path=f"/carts/{cart_id}/checkout",
                params={"contact": contact.model_dump(mode="json")},
            )
        locked = await self._acquire(key.id)
        if isinstance(locked, tuple):
            return locked
        try:
            return await self._run_phases(locked)
        finally:
            await self._unlock_quietly(locked.id)

    async def _acquire(self, key_id: int) -> IdempotencyKey | tuple[int, dict[str, Any]]:
        """The key, locked by us; or the stored response once whoever held it has finished."""
        deadline = time.monotonic() + self._wait_s
        pause = 0.02
        while True:
            async with self._db.transaction() as repos:
                key = await repos.keys.get(key_id)
                assert key is not None
                if key.response_code is not None:
                    return key.response_code, dict(key.response_body)
                locked = await repos.keys.try_lock(key_id, self._config.lock_timeout_s)
            if locked is not None:
                return locked
            if time.monotonic() >= deadline:
                raise DependencyDown("checkout", "an identical checkout is still in progress")
            # Another request holds the key: poll until it stores a response (bounded above).
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.25)

    async def _unlock_quietly(self, key_id: int) -> None:
        try:
            async with self._db.transaction() as repos:
                await repos.keys.unlock(key_id)
        except DependencyDown:
            pass  # the lock times out on its own; the next request takes over

    async def _run_phases(self, key: IdempotencyKey) -> tuple[int, dict[str, Any]]:
        for _ in range(_MAX_PHASES):
            if key.recovery_point == STARTED:
                key = await self._phase_lock_cart(key)
            elif key.recovery_point == CART_LOCKED:
                key = await self._phase_reserve_stock(key)
            elif key.recovery_point == STOCK_RESERVED:
                return await self._phase_create_session(key)
            elif key.recovery_point == FINISHED and key.response_code is not None:
                return key.response_code, dict(key.response_body)
            else:
                break
        raise RuntimeError(f"checkout key {key.id} stuck at {key.recovery_point!r}")

    # --- phase 1 (atomic): lock the cart and price it from the catalogue ------------------------

    async def _phase_lock_cart(self, key: IdempotencyKey) -> IdempotencyKey:
        async with self._db.transaction() as repos:
            cart = await repos.carts.get(key.cart_id, for_update=True)
            assert cart is not None
            if cart.status in ("awaiting_payment", "paid") and cart.session_id is not None:
                # The cart already has its session (e.g. one adopted after payment, 6.10): that
                # session is the answer (6.4), whichever key asked.
                session = await repos.sessions.get(cart.session_id)
                if session is not None:
                    await repos.keys.finish(key.id, 201, _session_answer(session))
                    updated = await repos.keys.get(key.id)
                    assert updated is not None
                    return updated
            if cart.status != "open":
                # Only another key can have locked it: a concurrent edit changed the version.
                raise errors.conflict("cart_changed", detail="the cart changed; check out again")
            lines = await repos.carts.lines(cart.cart_id)
            items = [
                LineItem(
                    sku=line.sku, quantity=line.quantity, unit_price_cents=line.unit_price_cents
                )
                for line in lines
            ]
            if checkout_key(cart, items) != key.idempotency_key:
                raise errors.conflict("cart_changed", detail="the cart changed; check out again")
            if not items:
                raise errors.unprocessable("empty_cart", "the cart has no items")
            amount = sum(item.quantity * item.unit_price_cents for item in items)
            if amount > MAX_AMOUNT_CENTS:
                raise errors.unprocessable("amount_too_large", "the cart total is above the limit")
            plan = CheckoutPlan(
                cart_id=str(cart.cart_id),
                user_id=cart.user_id,
                cart_version=cart.version,
                items=items,
                amount_total=amount,
                product_names={line.sku: line.name for line in lines},
                expires_at=int(time.time()) + self._config.session_lifetime_s,
            )
            attempt = key.reservation_attempt + 1
            await repos.carts.set_status(cart.cart_id, "checking_out")
            await repos.keys.set_recovery_point(
                key.id,
                CART_LOCKED,
                plan=plan.model_dump(mode="json"),
                # Unique beyond this database: key ids restart with a restored or fresh database
                # while Redis keeps its reservation markers, and a reused id would collide.
                reservation_id=f"ck{key.id}-{attempt}-{uuid.uuid4().hex[:12]}",
                reservation_attempt=attempt,
            )
            updated = await repos.keys.get(key.id)
        assert updated is not None
        return updated

    # --- phase 2 (foreign): hold the stock in Redis ---------------------------------------------

    async def _phase_reserve_stock(self, key: IdempotencyKey) -> IdempotencyKey:
        plan = CheckoutPlan.model_validate(key.plan)
        assert key.reservation_id is not None
        try:
            short_sku = await self._inventory.reserve(
                key.reservation_id,
                [(item.sku, item.quantity) for item in plan.items],
                expires_at=plan.expires_at + self._config.reservation_grace_s,
            )
        except DependencyDown:
            # The script may or may not have run: roll back and release whatever it held.
            await self.roll_back(key, release=True)
            raise
        if short_sku is not None:
            await self.roll_back(key, release=False)  # the script held nothing
            raise errors.conflict("out_of_stock", sku=short_sku)
        async with self._db.transaction() as repos:
            await repos.keys.set_recovery_point(key.id, STOCK_RESERVED)
            updated = await repos.keys.get(key.id)
        assert updated is not None
        return updated

    # --- phase 3 (foreign, then atomic): the Stripe session -------------------------------------

    async def _phase_create_session(self, key: IdempotencyKey) -> tuple[int, dict[str, Any]]:
        plan = CheckoutPlan.model_validate(key.plan)
        config = self._session_config(plan)
        generation = key.stripe_key_generation
        session = None
        for _ in range(_STRIPE_KEY_GENERATIONS):
            try:
                # From the cart's checkout key, not the row id: ids restart with a restored or
                # fresh database, and Stripe would replay (or refuse) another cart's session.
                session = await self._stripe.create_checkout_session(
                    config, f"{key.idempotency_key}-{generation}"
                )
                break
            except StripeServerError:
                # Stripe stored that 5xx for the key: only a new key can succeed (6.10).
                generation += 1
                async with self._db.transaction() as repos:
                    await repos.keys.set_recovery_point(
                        key.id, STOCK_RESERVED, stripe_key_generation=generation
                    )
            except StripeRejected as exc:
                await self.roll_back(key, release=True)
                log.error(
                    "checkout.stripe_rejected", key_id=key.id, status=exc.status, code=exc.code
                )
                raise ApiError(502, {"error": "payment_provider_rejected"}) from exc
            except DependencyDown:
                # Ambiguous: the session may exist. Stay at stock_reserved so the next request
                # (or the client's retry) asks again with the same key and gets it back.
                log.warning("checkout.stripe_unavailable", key_id=key.id)
                raise
        if session is None:
            await self.roll_back(key, release=True)
            raise DependencyDown("stripe", "server errors")
        body = CheckoutOut(
            checkout_session_id=session.id, url=session.url or "", amount_total=plan.amount_total
        ).model_dump()
        async with self._db.transaction() as repos:
            await repos.sessions.insert(
                session_id=session.id,
                cart_id=key.cart_id,
                user_id=key.user_id,
                key_id=key.id,
                amount_total=plan.amount_total,
                items=[item.model_dump() for item in plan.items],
                reservation_id=key.reservation_id,
                url=session.url or "",
                expires_at=datetime.fromtimestamp(plan.expires_at, UTC),
            )
            await repos.carts.set_status(key.cart_id, "awaiting_payment", session_id=session.id)
            await repos.keys.finish(key.id, 201, body)
        log.info(
            "checkout.session_created",
            key_id=key.id,
            cart_id=str(key.cart_id),
            session_id=session.id,
            amount_total=plan.amount_total,
        )
        return 201, body

    def _session_config(self, plan: CheckoutPlan) -> StripeSessionConfig:
        base = f"http://127.0.0.1:{self._config.port}/checkout"
        return StripeSessionConfig(
            line_items=[
                StripeLineItem(
                    name=plan.product_names.get(item.sku, item.sku),
                    unit_amount=item.unit_price_cents,
                    quantity=item.quantity,
                )
                for item in plan.items
            ],
            client_reference_id=plan.cart_id,
            cart_id=plan.cart_id,
            user_id=plan.user_id,
            success_url=f"{base}/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/cancel?cart_id={plan.cart_id}",
            expires_at=plan.expires_at,
        )

    # --- compensation ---------------------------------------------------------------------------

    async def roll_back(self, key: IdempotencyKey, *, release: bool) -> None:
        """Undo a checkout that cannot finish now: unlock the cart, queue the stock release.

        The key returns to ``started`` with a fresh Stripe key generation, because its next
        attempt prices the cart again and Stripe refuses different parameters under an old key.
        """
        async with self._db.transaction() as repos:
            await self._roll_back_in(repos, key, release=release)
        if release and key.reservation_id:
            try:
                await self._inventory.release(key.reservation_id)
            except DependencyDown:
                return  # the outbox job queued above releases it when Redis is back
            async with self._db.transaction() as repos:
                await repos.outbox.done_for_reservation(key.reservation_id)

    @staticmethod
    async def _roll_back_in(repos: Repositories, key: IdempotencyKey, *, release: bool) -> None:
        if release and key.reservation_id:
            await repos.outbox.add("release_reservation", reservation_id=key.reservation_id)
        cart = await repos.carts.get(key.cart_id, for_update=True)
        if cart is not None and cart.status == "checking_out":
            await repos.carts.set_status(key.cart_id, "open")
        await repos.keys.rewind(key.id)

    async def roll_back_abandoned(self, older_than_s: float, limit: int) -> int:
        """Roll back checkouts whose request died and whose client never came back."""
        async with self._db.transaction() as repos:
            keys = await repos.keys.abandoned(older_than_s, limit)
            for key in keys:
                log.warning("checkout.abandoned", key_id=key.id, recovery_point=key.recovery_point)
                await self._roll_back_in(repos, key, release=True)
        return len(keys)
