"""``python -m harness.stripe``: run the simulator standalone until Ctrl-C or SIGTERM.

The webhook secret may come from ``--webhook-secret`` or, to keep it out of process listings,
from the ``STRIPE_WEBHOOK_SECRET`` environment variable.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from harness.stripe.simulator import StripeSimulator
from harness.stripe.webhooks import DEFAULT_MAX_ATTEMPTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.stripe", description=__doc__)
    parser.add_argument("--stripe-mock-url", required=True, help="e.g. http://127.0.0.1:12111")
    parser.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--retry-time-factor", type=float, default=0.001)
    parser.add_argument("--max-delivery-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS)
    parser.add_argument(
        "--webhook-endpoint", action="append", default=[], help="repeatable; loopback URLs"
    )
    args = parser.parse_args(argv)
    if not args.webhook_secret:
        parser.error("give --webhook-secret or set STRIPE_WEBHOOK_SECRET")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sim = StripeSimulator(
        args.stripe_mock_url,
        webhook_secret=args.webhook_secret,
        retry_time_factor=args.retry_time_factor,
        host=args.host,
        port=args.port,
        max_delivery_attempts=args.max_delivery_attempts,
    )
    with sim:
        for endpoint in args.webhook_endpoint:
            sim.add_webhook_endpoint(endpoint)
        print(f"Stripe simulator listening on {sim.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
