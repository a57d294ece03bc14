"""Checkers: one pure function per invariant of the contract, from history + final state to a verdict."""

from harness.checkers.model import (
    Checker,
    Evidence,
    FinalState,
    Order,
    OrderItem,
    Outcome,
    Product,
    StripeRefund,
    StripeSession,
    Verdict,
)

__all__ = [
    "Checker",
    "Evidence",
    "FinalState",
    "Order",
    "OrderItem",
    "Outcome",
    "Product",
    "StripeRefund",
    "StripeSession",
    "Verdict",
]
