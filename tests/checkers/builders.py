"""Hand-built histories and final states, so checker tests read like the run they describe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.checkers import (
    FinalState,
    Order,
    OrderItem,
    Product,
    StripeRefund,
    StripeSession,
)
from harness.history import FAULT_PROCESS, OBSERVER_PROCESS, History, Op, OpType

PRICE = 1500
SKU = "mug"
EMAIL = "canary.alice@example.test"
NAME = "Alice Canarywood"
ADDRESS = "12 Canary Lane, Springfield"

Result = OpType | None  # the completion type; None leaves the operation unfinished


@dataclass
class HistoryBuilder:
    """Appends ops with a fake clock (each op ``step`` seconds after the previous one)."""

    ops: list[Op] = field(default_factory=list)
    clock: float = 0.0
    step: float = 0.1

    def at(self, time_s: float) -> HistoryBuilder:
        self.clock = time_s
        return self

    def record(self, process: str, type: OpType, f: str, value: dict[str, Any]) -> Op:
        op = Op(len(self.ops), process, type, f, dict(value), round(self.clock, 6))
        self.ops.append(op)
        self.clock += self.step
        return op

    def invoke(self, f: str, value: dict[str, Any], process: str = "w1") -> Op:
        return self.record(process, OpType.INVOKE, f, value)

    def complete(self, invoke: Op, type: OpType, value: dict[str, Any] | None = None) -> Op:
        return self.record(invoke.process, type, invoke.f, value or {})

    def op(
        self,
        f: str,
        value: dict[str, Any],
        result: dict[str, Any] | None = None,
        outcome: Result = OpType.OK,
        process: str = "w1",
    ) -> Op:
        """An invocation and its completion at once; returns the completion (or the invocation)."""
        invoke = self.invoke(f, value, process)
        return invoke if outcome is None else self.complete(invoke, outcome, result)

    # -- the vocabulary -------------------------------------------------------------------------

    def set_stock(
        self, sku: str = SKU, stock: int = 5, price: int = PRICE, outcome: Result = OpType.OK
    ) -> Op:
        value = {"sku": sku, "name": sku.title(), "price_cents": price, "stock": stock}
        answer = {"sku": sku, "price_cents": price, "stock": stock, "available": stock}
        return self.op("set_stock", value, answer, outcome, process="setup")

    def set_item(
        self,
        cart: str,
        sku: str = SKU,
        quantity: int = 1,
        outcome: Result = OpType.OK,
        process: str = "w1",
        result: dict[str, Any] | None = None,
    ) -> Op:
        value = {"cart_id": cart, "user_id": "u1", "sku": sku, "quantity": quantity}
        return self.op("set_item", value, result or {"cart_id": cart}, outcome, process)

    def checkout_invoke(
        self,
        cart: str,
        process: str = "w1",
        email: str = EMAIL,
        name: str = NAME,
        address: str | dict[str, str] = ADDRESS,
    ) -> Op:
        value = {"cart_id": cart, "user_id": "u1", "email": email, "name": name, "address": address}
        return self.invoke("checkout", value, process)

    def checkout_ok(self, invoke: Op, session: str, amount: int) -> Op:
        answer = {"checkout_session_id": session, "url": f"https://pay/{session}"}
        return self.complete(invoke, OpType.OK, {**answer, "amount_total": amount})

    def checkout(self, cart: str, session: str, amount: int, process: str = "w1") -> Op:
        return self.checkout_ok(self.checkout_invoke(cart, process), session, amount)

    def pay(self, session: str, outcome: str = "paid", result: Result = OpType.OK) -> Op:
        value = {"checkout_session_id": session, "outcome": outcome}
        return self.op("pay", value, {}, result, process="customer")

    def expire(self, session: str, result: Result = OpType.OK) -> Op:
        return self.op("expire", {"checkout_session_id": session}, {}, result, process="customer")

    def deliver(
        self,
        session: str,
        event: str = "checkout.session.completed",
        tamper: str | None = None,
        status: int | None = 200,
        result: Result = OpType.OK,
        foreign: str | None = None,  # an event the target cannot use (unknown-session, ...)
    ) -> Op:
        value: dict[str, Any] = {
            "event_type": event,
            "checkout_session_id": session,
            "tamper": tamper,
        }
        if foreign is not None:
            value["foreign"] = foreign
        answer = {} if status is None else {"status": status}
        return self.op("deliver_webhook", value, answer, result, process="stripe")

    def bad_request(
        self,
        status: int | None,
        result: Result = OpType.OK,
        route: str = "/carts/c1/checkout",
        description: str = "address is a list",
    ) -> Op:
        value = {"method": "POST", "route": route, "description": description}
        answer = {} if status is None else {"status": status}
        return self.op("bad_request", value, answer, result, process="fuzzer")

    def get_product(self, sku: str, available: int, price: int = PRICE) -> Op:
        answer = {"sku": sku, "name": sku, "price_cents": price, "available": available}
        return self.op("get_product", {"sku": sku}, answer)

    def fault(self, name: str, start_s: float, stop_s: float) -> None:
        self.at(start_s)
        self.op(
            "start_fault", {"name": name, "kind": "down", "params": {}}, {}, process=FAULT_PROCESS
        )
        self.at(stop_s)
        self.op(
            "stop_fault", {"name": name, "kind": "down", "params": {}}, {}, process=FAULT_PROCESS
        )

    def observe(self, orders: Iterable[Order], at_s: float | None = None) -> Op:
        if at_s is not None:
            self.at(at_s)
        answer = {"orders": [order_to_api(o) for o in orders]}
        return self.op("observe_orders", {}, answer, process=OBSERVER_PROCESS)

    def build(self) -> History:
        return History.from_ops(self.ops)


# -- final state ------------------------------------------------------------------------------


def product(sku: str = SKU, available: int = 3, price: int = PRICE) -> Product:
    return Product(sku, price, available)


def order(
    session: str,
    cart: str = "c1",
    status: str = "fulfilled",
    items: Iterable[tuple[str, int]] = ((SKU, 2),),
    price: int = PRICE,
    amount: int | None = None,
    order_id: str | None = None,
) -> Order:
    lines = tuple(OrderItem(sku, quantity, price) for sku, quantity in items)
    total = sum(i.quantity * i.unit_price_cents for i in lines) if amount is None else amount
    return Order(order_id or f"ord_{session}", cart, "u1", session, status, total, lines)


def order_to_api(o: Order) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "cart_id": o.cart_id,
        "user_id": o.user_id,
        "checkout_session_id": o.checkout_session_id,
        "status": o.status,
        "amount_total": o.amount_total,
        "items": [
            {"sku": i.sku, "quantity": i.quantity, "unit_price_cents": i.unit_price_cents}
            for i in o.items
        ],
    }


def session(
    id: str,
    cart: str | None = "c1",
    paid: bool = True,
    status: str | None = None,
    amount: int = 2 * PRICE,
) -> StripeSession:
    return StripeSession(
        id=id,
        client_reference_id=cart,
        status=status or ("complete" if paid else "open"),
        payment_status="paid" if paid else "unpaid",
        amount_total=amount,
        payment_intent=f"pi_{id}" if paid or status == "complete" else None,
        metadata={"cart_id": cart, "user_id": "u1"} if cart else {},
    )


def refund(session_id: str, refund_id: str | None = None, amount: int = 2 * PRICE) -> StripeRefund:
    return StripeRefund(refund_id or f"re_{session_id}", f"pi_{session_id}", amount)


def state(
    products: Iterable[Product] = (),
    orders: Iterable[Order] = (),
    sessions: Iterable[StripeSession] = (),
    refunds: Iterable[StripeRefund] = (),
    log: str = "",
    bound_s: float = 30.0,
) -> FinalState:
    return FinalState(
        products={p.sku: p for p in products},
        orders=tuple(orders),
        sessions=tuple(sessions),
        refunds=tuple(refunds),
        target_log=log,
        convergence_bound_s=bound_s,
    )


def with_state(base: FinalState, **changes: Any) -> FinalState:
    return replace(base, **changes)


# -- a whole, correct run ---------------------------------------------------------------------


def happy_run() -> tuple[History, FinalState]:
    """One buyer takes 2 of 5 mugs through a Redis blip, plus a forged event and a bad request.

    Every invariant is exercised and holds.
    """
    h = HistoryBuilder()
    h.set_stock(SKU, stock=5)
    h.op("create_cart", {"user_id": "u1"}, {"cart_id": "c1"})
    h.set_item("c1", SKU, 2)
    h.checkout("c1", "cs_1", 2 * PRICE)
    h.checkout("c1", "cs_1", 2 * PRICE, process="w2")  # a double click: same session
    h.fault("redis", start_s=1.0, stop_s=2.0)
    h.at(2.5)
    h.pay("cs_1")
    h.deliver("cs_1")
    h.deliver("cs_1", tamper="forged", status=400)
    h.bad_request(422)
    h.get_product(SKU, 3)
    final = order("cs_1")
    h.observe([final], at_s=4.0)
    log = '{"level":"info","event":"checkout created","email":"[redacted]"}\n'
    return h.build(), state(
        products=[product(SKU, available=3)],
        orders=[final],
        sessions=[session("cs_1")],
        log=log,
    )
