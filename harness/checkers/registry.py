"""Every checker by the contract's invariant id, and one call to run them all."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checkers.bad_input import (
    NO_SERVER_ERRORS_ON_BAD_INPUT,
    check_no_server_errors_on_bad_input,
)
from harness.checkers.convergence import CONVERGENCE, check_convergence
from harness.checkers.inventory import (
    CONSERVATION,
    NO_OVERSELL,
    check_conservation,
    check_no_oversell,
)
from harness.checkers.logs import NO_PII_IN_LOGS, check_no_pii_in_logs
from harness.checkers.model import Checker, FinalState, Verdict
from harness.checkers.orders import (
    AMOUNT_INTEGRITY,
    EXACTLY_ONCE_ORDER,
    REFUND_EXACTLY_ONCE,
    check_amount_integrity,
    check_exactly_once_order,
    check_refund_exactly_once,
)
from harness.checkers.sessions import ONE_SESSION_PER_CART, check_one_session_per_cart
from harness.checkers.webhooks import AUTHENTIC_WEBHOOKS_ONLY, check_authentic_webhooks_only
from harness.history import History

# In the contract's order (section 5), so reports list invariants as the contract does.
CHECKERS: dict[str, Checker] = {
    CONSERVATION: check_conservation,
    NO_OVERSELL: check_no_oversell,
    EXACTLY_ONCE_ORDER: check_exactly_once_order,
    ONE_SESSION_PER_CART: check_one_session_per_cart,
    REFUND_EXACTLY_ONCE: check_refund_exactly_once,
    AMOUNT_INTEGRITY: check_amount_integrity,
    AUTHENTIC_WEBHOOKS_ONLY: check_authentic_webhooks_only,
    NO_PII_IN_LOGS: check_no_pii_in_logs,
    CONVERGENCE: check_convergence,
    NO_SERVER_ERRORS_ON_BAD_INPUT: check_no_server_errors_on_bad_input,
}


def check_all(
    history: History, state: FinalState, only: Iterable[str] | None = None
) -> list[Verdict]:
    """Run the checkers (all, or the ids in ``only``, in contract order); unknown ids raise."""
    if isinstance(only, str):
        only = [only]  # one id, not its characters
    wanted = set(CHECKERS) if only is None else set(only)
    unknown = wanted - CHECKERS.keys()
    if unknown:
        raise KeyError(f"unknown invariant(s): {', '.join(sorted(unknown))}")
    return [check(history, state) for name, check in CHECKERS.items() if name in wanted]
