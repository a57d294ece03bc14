"""Checkers: one pure function per invariant of the contract, from history + final state to a verdict."""

from harness.checkers.bad_input import check_no_server_errors_on_bad_input
from harness.checkers.convergence import check_convergence
from harness.checkers.inventory import check_conservation, check_no_oversell
from harness.checkers.logs import check_no_pii_in_logs
from harness.checkers.model import (
    Checker,
    Evidence,
    FinalState,
    Order,
    OrderItem,
    Outcome,
    Product,
    StripeRefund,
    StripeRequest,
    StripeSession,
    Verdict,
    WebhookDelivery,
)
from harness.checkers.orders import (
    check_amount_integrity,
    check_exactly_once_order,
    check_refund_exactly_once,
)
from harness.checkers.registry import CHECKERS, check_all
from harness.checkers.sessions import check_one_session_per_cart
from harness.checkers.webhooks import check_authentic_webhooks_only

__all__ = [
    "CHECKERS",
    "Checker",
    "Evidence",
    "FinalState",
    "Order",
    "OrderItem",
    "Outcome",
    "Product",
    "StripeRefund",
    "StripeRequest",
    "StripeSession",
    "Verdict",
    "WebhookDelivery",
    "check_all",
    "check_amount_integrity",
    "check_authentic_webhooks_only",
    "check_conservation",
    "check_convergence",
    "check_exactly_once_order",
    "check_no_oversell",
    "check_no_pii_in_logs",
    "check_no_server_errors_on_bad_input",
    "check_one_session_per_cart",
    "check_refund_exactly_once",
]
