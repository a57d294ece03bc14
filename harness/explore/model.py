"""What the contract says a shop must do, kept as a small in-memory model the explorer compares
the target against.

The model knows the catalogue, every cart's lines, every session handed out and what became of it
(open, paid, closed unpaid), and the stock that follows: ``available = initial - reserved - sold``.
It is pure (no I/O), so each expectation is a plain function of the steps taken so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

# A few skus with little stock, so that carts collide on it within a handful of steps, but
# enough that most checkouts of a few units go through.
CATALOGUE: tuple[tuple[str, int, int], ...] = (
    ("mug", 1250, 5),
    ("tee", 2500, 3),
    ("lamp", 4999, 2),
)
SKUS: tuple[str, ...] = tuple(sku for sku, _, _ in CATALOGUE)
USERS = 3
MAX_CARTS = 3  # per example: more carts would spread a few steps too thin to reach a checkout
# Quantities 0-3, simplest first as Hypothesis shrinks: 1 (an edit that adds a unit) before 0
# (removing the line), so shrinking never turns a needed edit into a no-op it cannot delete.
QUANTITIES: tuple[int, ...] = (1, 2, 3, 0)

SessionStatus = Literal["open", "paid", "expired", "failed"]


@dataclass(frozen=True)
class Product:
    sku: str  # the catalogue name ("mug"); the target sees it prefixed with the example's run id
    price_cents: int
    stock: int


@dataclass
class CartModel:
    cart_id: str
    user_id: str
    lines: dict[str, int] = field(default_factory=dict)  # sku -> quantity, only quantities > 0
    session_id: str | None = None  # the session it was last handed


@dataclass
class SessionModel:
    session_id: str
    cart_id: str
    items: dict[str, int]
    amount_total: int
    status: SessionStatus = "open"


@dataclass(frozen=True)
class CheckoutExpectation:
    """What a checkout of a cart must answer, given everything before it."""

    status: int  # 201, 409 (out of stock) or 422 (empty cart)
    session_id: str | None = None  # a locked cart's session, which must come back
    amount_total: int | None = None
    short_skus: frozenset[str] = frozenset()  # an out_of_stock answer may name any of these

    @property
    def new_session(self) -> bool:
        return self.status == 201 and self.session_id is None


class ShopModel:
    def __init__(self, products: Iterable[Product]) -> None:
        self.products: dict[str, Product] = {p.sku: p for p in products}
        self.carts: dict[str, CartModel] = {}
        self.sessions: dict[str, SessionModel] = {}

    # -- stock ---------------------------------------------------------------------------------

    def _units(self, sku: str, status: SessionStatus) -> int:
        return sum(s.items.get(sku, 0) for s in self.sessions.values() if s.status == status)

    def reserved(self, sku: str) -> int:
        return self._units(sku, "open")

    def sold(self, sku: str) -> int:
        return self._units(sku, "paid")

    def available(self, sku: str) -> int:
        return self.products[sku].stock - self.reserved(sku) - self.sold(sku)

    def amount(self, lines: Mapping[str, int]) -> int:
        """The sum of catalogue price x quantity: what a session for these lines must charge."""
        return sum(self.products[sku].price_cents * quantity for sku, quantity in lines.items())

    # -- carts ---------------------------------------------------------------------------------

    def add_cart(self, cart_id: str, user_id: str) -> None:
        self.carts[cart_id] = CartModel(cart_id, user_id)

    def locking_session(self, cart_id: str) -> SessionModel | None:
        """The session that locks the cart (clarification 4: while open, and after payment)."""
        session_id = self.carts[cart_id].session_id
        session = self.sessions.get(session_id) if session_id is not None else None
        return session if session is not None and session.status in ("open", "paid") else None

    def set_line(self, cart_id: str, sku: str, quantity: int) -> None:
        lines = self.carts[cart_id].lines
        if quantity == 0:
            lines.pop(sku, None)
        else:
            lines[sku] = quantity

    # -- checkout and its session --------------------------------------------------------------

    def expect_checkout(self, cart_id: str) -> CheckoutExpectation:
        locked = self.locking_session(cart_id)
        if locked is not None:
            return CheckoutExpectation(201, locked.session_id, locked.amount_total)
        lines = self.carts[cart_id].lines
        if not lines:
            return CheckoutExpectation(422)
        short = frozenset(sku for sku, qty in lines.items() if qty > self.available(sku))
        if short:
            return CheckoutExpectation(409, short_skus=short)
        return CheckoutExpectation(201, amount_total=self.amount(lines))

    def open_session(self, cart_id: str, session_id: str) -> SessionModel:
        cart = self.carts[cart_id]
        session = SessionModel(session_id, cart_id, dict(cart.lines), self.amount(cart.lines))
        self.sessions[session_id] = session
        cart.session_id = session_id
        return session

    def pay(self, session_id: str) -> None:
        self.sessions[session_id].status = "paid"

    def close_unpaid(self, session_id: str, status: Literal["expired", "failed"]) -> None:
        """Expiry or a failed async payment: the reservation goes back, the cart reopens."""
        self.sessions[session_id].status = status
