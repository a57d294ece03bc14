"""The target: the checkout service under test, and the client that speaks to it.

- ``TargetConfig``: a TOML file naming a command to start (or a URL already running), the adapter,
  secrets and the hosts it may reach.
- ``TargetAdapter``: the typed protocol every client implements; ``ContractClient`` speaks the
  contract over async httpx, and an adapter class serves any service whose API looks different.
- ``TargetProcess``: a target the harness starts with the contract's environment, and so can
  crash (SIGKILL), restart, pause (SIGSTOP) and resume (SIGCONT).
"""

from harness.target.adapter import Reply, TargetAdapter, TargetNotReadyError, wait_healthy
from harness.target.client import ContractClient
from harness.target.config import TargetConfig, load_adapter
from harness.target.process import ProcessFaultUnavailableError, TargetProcess

__all__ = [
    "ContractClient",
    "ProcessFaultUnavailableError",
    "Reply",
    "TargetAdapter",
    "TargetConfig",
    "TargetNotReadyError",
    "TargetProcess",
    "load_adapter",
    "wait_healthy",
]
