"""The state machine: random sequences of shopper and Stripe actions, checked against the model.

Each rule drives the target through its adapter (carts, items, checkouts, webhooks) or the
customer through the Stripe simulator (pay, expire, abandon, redeliver), updates ``ShopModel``
with what the contract says must follow, and fails on any answer the contract does not allow.
Invariants compare the target's stock and orders with the model after every step.

Every example gets its own skus and users (prefixed with a fresh run id), so one target process
serves the whole exploration and examples never see each other's stock or orders.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)

from harness.explore.model import (
    CATALOGUE,
    MAX_CARTS,
    QUANTITIES,
    SKUS,
    USERS,
    CheckoutExpectation,
    Product,
    SessionModel,
    ShopModel,
)
from harness.explore.world import ContractViolationError, World
from harness.target.adapter import Reply
from harness.workload.events import session_event, signed

PAID_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
Keying = Literal["no key", "one key", "a key per click"]
KEYINGS: tuple[Keying, ...] = ("no key", "one key", "a key per click")
PayOutcome = Literal["paid", "async_succeeded", "async_failed"]
PAY_OUTCOMES: tuple[PayOutcome, ...] = ("paid", "async_succeeded", "async_failed")
LOCK_RULE = "clarification 4: a cart is locked while its session is open and after payment"


@dataclass(frozen=True)
class CartRef:
    cart_id: str
    user_id: str
    label: str  # "cart1": readable in the steps, where a UUID is not


@dataclass(frozen=True)
class Look:
    """What the target shows at one moment: each product, and the orders."""

    products: dict[str, Reply]
    orders: Reply


@dataclass(frozen=True)
class SessionRef:
    session_id: str
    cart: CartRef
    label: str


def _show(reply: Reply) -> str:
    body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, default=str)
    return f"{reply.status} {body[:240]}"


class CheckoutMachine(RuleBasedStateMachine):
    world: ClassVar[World]  # set by ``machine_for``: Hypothesis builds machines without arguments

    carts = Bundle[CartRef]("carts")
    sessions = Bundle[SessionRef]("sessions")  # every session handed out, whatever became of it
    open_sessions = Bundle[SessionRef]("open_sessions")
    paid_sessions = Bundle[SessionRef]("paid_sessions")

    def __init__(self) -> None:
        super().__init__()
        number = self.world.new_example()
        self.run_id = f"{self.world.run_tag}e{number}"
        self.model = ShopModel(Product(sku, price, stock) for sku, price, stock in CATALOGUE)
        self.steps: list[str] = []
        self._labels: dict[str, int] = defaultdict(int)
        # Taken by _await_change at the end of a rule: the invariant reuses it, once.
        self._last_look: Look | None = None
        adapter = self.world.adapter
        products = list(self.model.products.values())

        async def stock_all() -> list[Reply]:
            return list(
                await asyncio.gather(
                    *(
                        adapter.put_product(self._sku(p.sku), p.sku, p.price_cents, p.stock)
                        for p in products
                    )
                )
            )

        try:
            replies = self.world.call("PUT /admin/products/{sku}", stock_all())
            for product, reply in zip(products, replies, strict=True):
                self._expect(reply.ok, f"stocking {product.sku} was refused: {_show(reply)}")
        except ContractViolationError as exc:
            # Outside Hypothesis's step loop, so teardown would not record it.
            self.world.failed(self.steps, str(exc))
            raise

    # -- helpers -----------------------------------------------------------------------------

    def _sku(self, sku: str) -> str:
        return f"{self.run_id}-{sku}"

    def _catalogue_sku(self, target_sku: object) -> str:
        return str(target_sku).removeprefix(f"{self.run_id}-")

    def _label(self, kind: str) -> str:
        self._labels[kind] += 1
        return f"{kind}{self._labels[kind]}"

    def _call(self, what: str, coro: Coroutine[Any, Any, Reply]) -> Reply:
        return self.world.call(what, coro)

    def _note(self, line: str) -> None:
        self.steps.append(line)

    @staticmethod
    def _expect(ok: bool, message: str) -> None:
        if not ok:
            raise ContractViolationError(message)

    def _begin(self) -> None:
        self.world.new_step()

    def _contact(self, cart: CartRef) -> dict[str, Any]:
        return {
            "email": f"{cart.label}.{self.run_id}@explore.invalid",
            "name": f"Explorer {cart.label}",
            "address": {"line1": "1 Model Street", "city": "Hypothesis", "country": "US"},
        }

    # -- rules: the shopper ----------------------------------------------------------------------

    @precondition(lambda self: len(self.model.carts) < MAX_CARTS)
    @rule(target=carts, user=st.integers(0, USERS - 1))
    def create_cart(self, user: int) -> CartRef:
        self._begin()
        user_id = f"{self.run_id}-u{user}"
        reply = self._call("POST /carts", self.world.adapter.create_cart(user_id))
        cart_id = reply.field("cart_id")
        label = self._label("cart")
        self._note(f"create_cart(user u{user}) -> {label} = {_show(reply)}")
        self._expect(
            reply.status == 201 and isinstance(cart_id, str) and bool(cart_id),
            f"POST /carts answered {_show(reply)}; the contract says 201 {{cart_id}}",
        )
        assert isinstance(cart_id, str)
        self.model.add_cart(cart_id, user_id)
        return CartRef(cart_id, user_id, label)

    @rule(cart=carts, sku=st.sampled_from(SKUS), quantity=st.sampled_from(QUANTITIES))
    def set_item(self, cart: CartRef, sku: str, quantity: int) -> None:
        self._begin()
        self._edit(cart, sku, quantity, "set_item")

    @rule(session=sessions, sku=st.sampled_from(SKUS), quantity=st.sampled_from(QUANTITIES))
    def edit_after_checkout(self, session: SessionRef, sku: str, quantity: int) -> None:
        """The buyer changes the cart of a session they were handed: locked while that session
        is open or paid, editable again once it expired or its payment failed."""
        self._begin()
        self._edit(session.cart, sku, quantity, f"edit_after_checkout({session.label})")

    def _edit(self, cart: CartRef, sku: str, quantity: int, how: str) -> None:
        locked = self.model.locking_session(cart.cart_id)
        reply = self._call(
            f"PUT /carts/{cart.label}/items/{sku}",
            self.world.adapter.set_item(cart.cart_id, cart.user_id, self._sku(sku), quantity),
        )
        self._note(f"{how}: {cart.label} {sku} x{quantity} -> {_show(reply)}")
        if locked is not None:
            self._expect(
                reply.status == 409,
                f"editing {cart.label} ({sku} x{quantity}) while its session {locked.session_id} "
                f"is {locked.status} answered {_show(reply)}; the contract says 409 ({LOCK_RULE})",
            )
            return
        self._expect(
            reply.status == 200,
            f"editing {cart.label} ({sku} x{quantity}), which is not locked, answered "
            f"{_show(reply)}; the contract says 200",
        )
        self.model.set_line(cart.cart_id, sku, quantity)
        total = reply.field("total_cents")
        if total is not None:
            lines = self.model.carts[cart.cart_id].lines
            self._expect(
                total == self.model.amount(lines),
                f"{cart.label} now holds {lines} (total {self.model.amount(lines)} at catalogue "
                f"prices) but the target's cart says total_cents {total}",
            )

    @rule(
        targets=(sessions, open_sessions),
        cart=carts,
        clicks=st.integers(1, 2),
        keying=st.sampled_from(KEYINGS),
        tamper_prices=st.booleans(),
    )
    def checkout(
        self, cart: CartRef, clicks: int, keying: Keying, tamper_prices: bool
    ) -> MultipleResults[SessionRef]:
        """Check out, once or as a double click (two identical requests at once), with no
        Idempotency-Key, one shared, or one each; a tampering client also names its own prices."""
        self._begin()
        expected = self.model.expect_checkout(cart.cart_id)
        contact = self._contact(cart)
        if tamper_prices:
            contact |= {"prices": {self._sku(s): 1 for s in SKUS}, "amount_total": 1}
        nonce = uuid.uuid4().hex[:8]
        keys: list[str | None] = [
            None
            if keying == "no key"
            else f"{cart.label}-{nonce}"
            if keying == "one key"
            else f"{cart.label}-{nonce}-{n}"
            for n in range(clicks)
        ]
        adapter = self.world.adapter

        async def click_all() -> list[Reply]:
            return list(
                await asyncio.gather(
                    *(adapter.checkout(cart.cart_id, cart.user_id, contact, key) for key in keys)
                )
            )

        replies: list[Reply] = self.world.call(f"POST /carts/{cart.label}/checkout", click_all())
        shown = "; ".join(_show(r) for r in replies)
        self._note(
            f"checkout({cart.label}, {clicks} click(s), {keying}"
            f"{', tampered prices' if tamper_prices else ''}) -> {shown}"
        )
        if tamper_prices and all(r.status == 422 for r in replies):
            return multiple()  # refusing a body with fields it does not know is allowed
        statuses = {r.status for r in replies}
        self._expect(
            len(statuses) == 1,
            f"a double click on unchanged {cart.label} got different answers: {shown}; both "
            "must get the same (one session per cart)",
        )
        return self._judge_checkout(cart, expected, replies, shown)

    def _judge_checkout(
        self, cart: CartRef, expected: CheckoutExpectation, replies: list[Reply], shown: str
    ) -> MultipleResults[SessionRef]:
        status = replies[0].status
        if expected.status == 422:
            self._expect(
                status == 422,
                f"checking out empty {cart.label} answered {shown}; the contract says 422",
            )
            return multiple()
        if expected.status == 409:
            short = sorted(expected.short_skus)
            self._expect(
                status == 409,
                f"checking out {cart.label} {self.model.carts[cart.cart_id].lines} with "
                f"{', '.join(f'{s}: {self.model.available(s)} available' for s in short)} "
                f"answered {shown}; the contract says 409 out_of_stock and nothing reserved",
            )
            for reply in replies:
                self._expect(
                    reply.field("error") == "out_of_stock"
                    and self._catalogue_sku(reply.field("sku")) in expected.short_skus,
                    f"an out-of-stock checkout of {cart.label} answered {_show(reply)}; the "
                    f"contract says {{'error': 'out_of_stock', 'sku'}} naming one of {short}",
                )
            return multiple()
        self._expect(
            status == 201,
            f"checking out {cart.label} {self.model.carts[cart.cart_id].lines} answered {shown}; "
            f"the contract says 201 with a session"
            + (f" ({expected.session_id}, its session, again)" if expected.session_id else ""),
        )
        ids = {str(r.field("checkout_session_id")) for r in replies}
        self._expect(
            len(ids) == 1,
            f"a double click on unchanged {cart.label} got two sessions {sorted(ids)}; the cart "
            "defines the session (one session per cart)",
        )
        session_id = ids.pop()
        amounts = {r.field("amount_total") for r in replies}
        if expected.session_id is not None:
            locked = self.model.sessions[expected.session_id]
            self._expect(
                session_id == expected.session_id,
                f"checking out {cart.label} again while its session {expected.session_id} is "
                f"{locked.status} answered another session {session_id}; the contract says that "
                "session again (clarification 4)",
            )
            self._expect(
                amounts == {expected.amount_total},
                f"{cart.label}'s session {session_id} came back with amount_total "
                f"{sorted(map(str, amounts))}, not its {expected.amount_total}",
            )
            return multiple()
        self._expect(
            session_id not in self.model.sessions,
            f"checking out {cart.label} after its session {session_id} closed answered that "
            "session again; the contract says a new session (clarification 4)",
        )
        lines = dict(self.model.carts[cart.cart_id].lines)
        self._expect(
            amounts == {expected.amount_total},
            f"checkout of {cart.label} {lines} answered amount_total {sorted(map(str, amounts))}; "
            f"the sum of catalogue price x quantity is {expected.amount_total} (amount-integrity)",
        )
        try:
            at_stripe = self.world.simulator.ledger.session(session_id)
        except KeyError:
            raise ContractViolationError(
                f"checkout of {cart.label} handed out session {session_id}, which Stripe never "
                "created"
            ) from None
        self._expect(
            at_stripe.get("amount_total") == expected.amount_total,
            f"the Stripe session {session_id} for {cart.label} {lines} charges "
            f"{at_stripe.get('amount_total')}; the sum of catalogue price x quantity is "
            f"{expected.amount_total} (amount-integrity)",
        )
        self.model.open_session(cart.cart_id, session_id)
        ref = SessionRef(session_id, cart, self._label("session"))
        self.steps[-1] += f"  [{ref.label}]"
        return multiple(ref)

    # -- rules: the customer at Stripe, and Stripe's webhooks ---------------------------------------

    @rule(
        target=paid_sessions,
        session=consumes(open_sessions),
        outcome=st.sampled_from(PAY_OUTCOMES),
    )
    def pay(self, session: SessionRef, outcome: PayOutcome) -> MultipleResults[SessionRef]:
        self._begin()
        self.world.simulator.pay(session.session_id, outcome=outcome)
        self._note(f"pay({session.label}, {outcome})")
        self._webhooks_processed(session, f"paying {session.label} ({outcome})")
        if outcome == "async_failed":
            self.model.close_unpaid(session.session_id, "failed")
            self._await_change(self._stock_matches)
            return multiple()
        self.model.pay(session.session_id)
        self._await_change(self._orders_final)
        return multiple(session)

    @rule(session=consumes(open_sessions), how=st.sampled_from(("expire", "abandon")))
    def expire(self, session: SessionRef, how: str) -> None:
        self._begin()
        sim = self.world.simulator
        (sim.expire if how == "expire" else sim.abandon)(session.session_id)
        self._note(f"{how}({session.label})")
        self._webhooks_processed(session, f"the expiry of {session.label}")
        self.model.close_unpaid(session.session_id, "expired")
        self._await_change(self._stock_matches)

    @rule(session=paid_sessions)
    def redeliver_completed(self, session: SessionRef) -> None:
        """Stripe delivers at least once: the event that paid the session comes again."""
        self._begin()
        sim = self.world.simulator
        events = [
            e for e in sim.ledger.events(session_id=session.session_id) if e["type"] in PAID_EVENTS
        ]
        for event in events:
            sim.redeliver(str(event["id"]))
        self._note(f"redeliver_completed({session.label}): {', '.join(e['type'] for e in events)}")
        self._webhooks_processed(session, f"redelivering {session.label}'s events")
        # Nothing may change: the invariant looks at once, without waiting.

    @rule(session=paid_sessions)
    def late_expired_event(self, session: SessionRef) -> None:
        """A validly signed ``expired`` for a session already paid (events arrive in any order):
        2xx, and it changes nothing."""
        self._begin()
        stored = self.world.simulator.ledger.session(session.session_id)
        event = session_event("checkout.session.expired", stored, status="expired", url=None)
        payload, signature = signed(event, self.world.webhook_secret)
        reply = self._call(
            "POST /webhooks/stripe", self.world.adapter.deliver_webhook(payload, signature)
        )
        self._note(f"late_expired_event({session.label}) -> {_show(reply)}")
        self._expect(
            reply.ok,
            f"a validly signed, late checkout.session.expired for paid {session.label} answered "
            f"{_show(reply)}; the contract says 2xx (processed) and no change",
        )
        # Nothing may change: the invariant looks at once, without waiting.

    def _webhooks_processed(self, session: SessionRef, what: str) -> None:
        """Every event about the session was eventually answered 2xx (no faults: nothing to
        retry for)."""
        self.world.wait_for_webhooks(what)
        ledger = self.world.simulator.ledger
        for event in ledger.events(session_id=session.session_id):
            attempts = ledger.deliveries(str(event["id"]), endpoint=self.world.adapter.webhook_url)
            self._expect(
                any(a.status_code is not None and 200 <= a.status_code < 300 for a in attempts),
                f"after {what}, the target never answered {event['type']} for {session.label} "
                f"with a 2xx: {[(a.status_code, a.response_body[:120]) for a in attempts]}",
            )

    def _await_change(self, done: Callable[[Look], bool]) -> None:
        """Give the target ``settle_s`` to show a change the model expects (a target may fulfil
        or release after it acknowledged the webhook); the invariant then judges strictly.
        Only expected changes are waited for: an unexpected one fails at once, so a failing
        example costs no waiting while it is shrunk."""

        def changed() -> bool:
            self._last_look = self._look()
            return done(self._last_look)

        self.world.eventually(changed)

    def _stock_matches(self, look: Look) -> bool:
        return self._stock_mismatch(look) is None

    # -- what the target must show after every step ---------------------------------------------

    def _look(self) -> Look:
        """Every product and the orders, asked at once (one round trip, not four)."""
        adapter = self.world.adapter

        async def ask() -> Look:
            *products, orders = await asyncio.gather(
                *(adapter.get_product(self._sku(sku)) for sku in SKUS), adapter.orders()
            )
            return Look(dict(zip(SKUS, products, strict=True)), orders)

        look: Look = self.world.call("GET /products/{sku} and /admin/orders", ask())
        return look

    def _stock_mismatch(self, look: Look) -> str | None:
        for sku, reply in look.products.items():
            if reply.status != 200:
                return f"GET /products/{sku} answered {_show(reply)}; the contract says 200"
            available = reply.field("available")
            want = self.model.available(sku)
            if not isinstance(available, int) or available != want or available < 0:
                product = self.model.products[sku]
                return (
                    f"{sku}: the target says available {available}; the model says {want} "
                    f"(stock {product.stock} - reserved {self.model.reserved(sku)} by open "
                    f"sessions - sold {self.model.sold(sku)} to paid ones), never below 0"
                )
        return None

    def _our_orders(self, look: Look) -> dict[str, list[dict[str, Any]]]:
        """This example's orders by session (the target holds every example's)."""
        reply = look.orders
        self._expect(
            reply.status == 200 and isinstance(reply.body, list),
            f"GET /admin/orders answered {_show(reply)}; the contract says 200 [orders]",
        )
        by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for order in reply.body:
            if not isinstance(order, dict):
                continue
            if order.get("cart_id") in self.model.carts or (
                order.get("checkout_session_id") in self.model.sessions
            ):
                by_session[str(order.get("checkout_session_id"))].append(order)
        return by_session

    def _orders_final(self, look: Look) -> bool:
        """Every paid session has an order and none is pending."""
        if look.orders.status != 200 or not isinstance(look.orders.body, list):
            return False
        orders = self._our_orders(look)
        paid = {s.session_id for s in self.model.sessions.values() if s.status == "paid"}
        pending = any(o.get("status") == "pending" for found in orders.values() for o in found)
        return not pending and paid <= set(orders)

    @invariant()
    def target_matches_model(self) -> None:
        """Stock: available = initial - reserved - sold, never below 0. Orders: exactly one per
        paid session, with the catalogue amount and the session's items; none for the others."""
        look, self._last_look = self._last_look or self._look(), None
        mismatch = self._stock_mismatch(look)
        self._expect(mismatch is None, f"stock: {mismatch}")
        orders = self._our_orders(look)
        for session_id, found in orders.items():
            session = self.model.sessions.get(session_id)
            self._expect(
                session is not None and session.status == "paid",
                f"order(s) {[o.get('order_id') for o in found]} for session {session_id}, which "
                f"is {session.status if session else 'not one the target handed out'}: no order "
                "without a paid session (exactly-once-order)",
            )
        for session in self.model.sessions.values():
            if session.status == "paid":
                self._check_order(session, orders.get(session.session_id, []))

    def _check_order(self, session: SessionModel, found: list[dict[str, Any]]) -> None:
        self._expect(
            len(found) == 1,
            f"paid session {session.session_id} has {len(found)} orders "
            f"{[(o.get('order_id'), o.get('status')) for o in found]}; exactly one "
            "(exactly-once-order)",
        )
        order = found[0]
        self._expect(
            order.get("status") == "fulfilled",
            f"the order for paid session {session.session_id} is {order.get('status')!r}; its "
            "units were reserved, so it must be 'fulfilled'",
        )
        self._expect(
            order.get("amount_total") == session.amount_total,
            f"the order for session {session.session_id} {session.items} has amount_total "
            f"{order.get('amount_total')}; the sum of catalogue price x quantity is "
            f"{session.amount_total} (amount-integrity)",
        )
        items = order.get("items")
        got = (
            {self._catalogue_sku(i.get("sku")): i.get("quantity") for i in items}
            if isinstance(items, list) and all(isinstance(i, dict) for i in items)
            else items
        )
        self._expect(
            got == session.items,
            f"the order for session {session.session_id} lists items {got}; the session was for "
            f"{session.items}",
        )

    def teardown(self) -> None:
        # Hypothesis calls this from a ``finally``: the exception it is unwinding, if any, is this
        # example's failure, recorded with its steps in case the time budget ends the shrinking.
        # Hypothesis's own control flow (an example cut short while drawing) is not a failure.
        exc = sys.exc_info()[1]
        if isinstance(exc, Exception) and not isinstance(exc, HypothesisException):
            message = str(exc) if isinstance(exc, AssertionError) else f"{exc!r}"
            self.world.failed(self.steps, message)


def machine_for(world: World) -> type[CheckoutMachine]:
    """A machine class bound to ``world`` (one per exploration)."""
    return cast(
        type[CheckoutMachine], type("CheckoutMachine", (CheckoutMachine,), {"world": world})
    )
