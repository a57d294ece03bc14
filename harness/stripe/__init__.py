"""A stateful, idempotent, webhook-delivering Stripe over stripe-mock, with scriptable faults.

with StripeSimulator(stack.stripe_mock_url, webhook_secret="whsec_…") as sim:
    sim.add_webhook_endpoint("http://127.0.0.1:8000/webhooks/stripe")
    ...                                   # the target creates a session at sim.url
    sim.pay(session_id)                   # checkout.session.completed, signed, delivered
    sim.wait_for_deliveries()
    sim.ledger.sessions(client_reference_id=cart_id)
"""

from harness.stripe.faults import Faults, Gate
from harness.stripe.formcodec import FormError
from harness.stripe.idempotency import IdempotencyRecord
from harness.stripe.ledger import ApiRequest, Ledger
from harness.stripe.simulator import SimulatorError, StripeSimulator
from harness.stripe.webhooks import DeliveryAttempt, sign, verify

__all__ = [
    "ApiRequest",
    "DeliveryAttempt",
    "Faults",
    "FormError",
    "Gate",
    "IdempotencyRecord",
    "Ledger",
    "SimulatorError",
    "StripeSimulator",
    "sign",
    "verify",
]
