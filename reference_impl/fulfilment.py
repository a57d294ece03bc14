"""From a verified Stripe event to an order, exactly once.

Deduplication is two-fold: the event id (``processed_events``, in the transaction that applies the
event) and the session id (``orders.checkout_session_id`` is unique). A paid session becomes a
``pending`` order plus a ``fulfil_order`` outbox job in one PostgreSQL transaction; the stock is then
committed in Redis (inline when it is up, else by the outbox worker), and the order moves to
``fulfilled`` — or to ``refunded`` with exactly one Stripe refund when the stock was gone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from reference_impl.errors import DependencyDown, StripeRejected
from reference_impl.inventory import Inventory
from reference_impl.logging import get_logger
from reference_impl.models import CheckoutPlan, FulfilmentData
from reference_impl.repositories import Repositories
from reference_impl.repositories.database import Database
from reference_impl.repositories.orders import Order, OrderStatus
from reference_impl.repositories.sessions import CheckoutSession
from reference_impl.stripe_client import StripeClient, StripeServerError
from reference_impl.webhooks import CLOSED_EVENTS, PAID_EVENTS, WebhookRejected

log = get_logger("fulfilment")

_INLINE_LEASE_S = 30.0  # the webhook request runs the job itself first; the worker waits that long
_MAX_ATTEMPTS = 2000
_MAX_BACKOFF_S = 2.0


def backoff_s(attempts: int) -> float:
    return min(_MAX_BACKOFF_S, 0.1 * 2.0 ** min(attempts, 10))


class Fulfilment:
    def __init__(self, db: Database, inventory: Inventory, stripe: StripeClient) -> None:
        self._db = db
        self._inventory = inventory
        self._stripe = stripe

    async def handle(self, data: FulfilmentData) -> None:
        if data.event_type in PAID_EVENTS:
            if data.paid:
                await self._paid(data)
            else:
                # Completed but unpaid: an async payment is under way; its own event decides.
                async with self._db.transaction() as repos:
                    await repos.events.record(data.event_id, data.event_type, data.session_id)
        elif data.event_type in CLOSED_EVENTS:
            await self._closed(data)

    # --- paid -----------------------------------------------------------------------------------

    async def _paid(self, data: FulfilmentData) -> None:
        async with self._db.transaction() as repos:
            if not await repos.events.record(data.event_id, data.event_type, data.session_id):
                return  # this event was applied before
            session = await repos.sessions.get(data.session_id, for_update=True)
            if session is None:
                session = await self._adopt(repos, data)
                if session is None:
                    log.warning("webhook.unknown_session", session_id=data.session_id)
                    return  # contract 6.9: nothing of ours, nothing changes
            if str(session.cart_id) != data.cart_id or session.user_id != data.user_id:
                raise WebhookRejected("session metadata does not match the session we created")
            if data.amount_total is not None and data.amount_total != session.amount_total:
                log.error(
                    "webhook.amount_mismatch",
                    session_id=session.session_id,
                    expected=session.amount_total,
                    got=data.amount_total,
                )
            order_id = await repos.orders.create_pending(
                session_id=session.session_id,
                cart_id=session.cart_id,
                user_id=session.user_id,
                amount_total=session.amount_total,
                items=session.items,
                payment_intent=data.payment_intent,
                reservation_id=session.reservation_id,
            )
            if order_id is None:
                return  # another event for this session already made its order
            await repos.sessions.set_status(session.session_id, "paid")
            await repos.carts.set_status(session.cart_id, "paid", session_id=session.session_id)
            job_id = await repos.outbox.add(
                "fulfil_order", order_id=order_id, lease_s=_INLINE_LEASE_S
            )
        log.info("order.created", order_id=str(order_id), session_id=session.session_id)
        await self.complete_order(order_id, job_id, attempts=0)

    async def _adopt(self, repos: Repositories, data: FulfilmentData) -> CheckoutSession | None:
        """A paid session we created but never recorded (6.10): find its checkout by the cart."""
        cart = await repos.carts.get(uuid.UUID(data.cart_id), for_update=True)
        if cart is None or cart.user_id != data.user_id:
            return None
        for key in await repos.keys.latest_plans_for_cart(cart.cart_id):
            plan = CheckoutPlan.model_validate(key.plan)
            if data.amount_total is not None and data.amount_total != plan.amount_total:
                continue
            await repos.sessions.insert(
                session_id=data.session_id,
                cart_id=cart.cart_id,
                user_id=cart.user_id,
                key_id=key.id,
                amount_total=plan.amount_total,
                items=[item.model_dump() for item in plan.items],
                reservation_id=key.reservation_id,
                url="",
                expires_at=datetime.fromtimestamp(plan.expires_at, UTC),
            )
            log.warning("webhook.session_adopted", session_id=data.session_id, key_id=key.id)
            return await repos.sessions.get(data.session_id, for_update=True)
        return None

    async def complete_order(self, order_id: uuid.UUID, job_id: int, attempts: int) -> bool:
        """Commit the stock (or refund) for a pending order; False when it must be retried."""
        try:
            async with self._db.transaction() as repos:
                order = await repos.orders.get(order_id)
            if order is None or order.status != "pending":
                async with self._db.transaction() as repos:
                    await repos.outbox.done(job_id)
                return True
            items = [(str(item["sku"]), int(item["quantity"])) for item in order.items]
            outcome = await self._inventory.commit(
                order.checkout_session_id, order.reservation_id, items
            )
            refund_id: str | None = None
            if outcome == "out_of_stock":
                refund_id = await self._refund(order)
            async with self._db.transaction() as repos:
                status: OrderStatus = "fulfilled" if outcome == "committed" else "refunded"
                await repos.orders.complete(order_id, status, refund_id=refund_id)
                await repos.outbox.done_for_order(order_id)
            log.info("order.completed", order_id=str(order_id), status=status)
            return True
        except (DependencyDown, StripeRejected) as exc:
            log.warning(
                "order.completion_deferred",
                order_id=str(order_id),
                reason=str(exc),
                attempt=attempts,
            )
            await self._job_failed(job_id, str(exc), attempts)
            return False

    async def _refund(self, order: Order) -> str | None:
        payment_intent = order.payment_intent
        if payment_intent is None:
            payment_intent = (
                await self._stripe.retrieve_session(order.checkout_session_id)
            ).payment_intent
        if payment_intent is None:
            log.warning("order.nothing_to_refund", order_id=str(order.order_id))
            return None
        key = f"refund-{order.checkout_session_id}-{order.refund_key_generation}"
        try:
            refund = await self._stripe.create_refund(payment_intent, key)
        except StripeServerError:
            # Stripe stored the 5xx for that key; the next attempt uses a fresh one (6.10).
            async with self._db.transaction() as repos:
                await repos.orders.bump_refund_key(order.order_id)
            raise
        except StripeRejected as exc:
            if exc.code == "charge_already_refunded":
                # An earlier attempt's refund went through after all: the money is back.
                log.warning("order.already_refunded", order_id=str(order.order_id))
                return None
            raise
        log.info("order.refunded", order_id=str(order.order_id), refund_id=refund.id)
        return refund.id

    async def _job_failed(self, job_id: int, error: str, attempts: int) -> None:
        try:
            async with self._db.transaction() as repos:
                dead = await repos.outbox.failed(job_id, error, backoff_s(attempts), _MAX_ATTEMPTS)
            if dead:
                log.error("outbox.job_dead", job_id=job_id, error=error)
        except DependencyDown:
            pass  # PostgreSQL is down too: the lease runs out and the worker tries again

    # --- expired / failed -------------------------------------------------------------------------

    async def _closed(self, data: FulfilmentData) -> None:
        job_id: int | None = None
        reservation_id: str | None = None
        async with self._db.transaction() as repos:
            if not await repos.events.record(data.event_id, data.event_type, data.session_id):
                return
            session = await repos.sessions.get(data.session_id, for_update=True)
            if session is None or session.status != "open":
                return  # unknown, or already paid/closed: never release after payment
            await repos.sessions.set_status(
                session.session_id,
                "expired" if data.event_type == "checkout.session.expired" else "failed",
            )
            await repos.carts.reopen(session.cart_id, session_id=session.session_id)
            if session.reservation_id:
                reservation_id = session.reservation_id
                job_id = await repos.outbox.add(
                    "release_reservation", reservation_id=reservation_id, lease_s=_INLINE_LEASE_S
                )
        log.info("session.closed", session_id=data.session_id, event_type=data.event_type)
        if job_id is not None and reservation_id is not None:
            await self.release(reservation_id, job_id, attempts=0)

    async def release(self, reservation_id: str, job_id: int, attempts: int) -> bool:
        try:
            async with self._db.transaction() as repos:
                if await repos.orders.holds_reservation(reservation_id):
                    # Paid meanwhile (events arrive in any order): the order owns this stock.
                    await repos.outbox.done(job_id)
                    return True
            await self._inventory.release(reservation_id)
            async with self._db.transaction() as repos:
                await repos.outbox.done(job_id)
            return True
        except DependencyDown as exc:
            await self._job_failed(job_id, str(exc), attempts)
            return False
