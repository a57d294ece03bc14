"""Faults (Jepsen's nemesis): what goes wrong, when, and the guarantee that it is healed.

- ``links``: Toxiproxy toxics on the postgres, redis and stripe links (down, latency, timeout, ...).
- ``process``: SIGKILL + restart, SIGSTOP + SIGCONT of a target the harness started.
- ``payments``: the Stripe simulator's API and webhook faults.
- ``schedule``: when a fault starts and stops (at a step, at a time, at a phase, periodically).
- ``nemesis``: runs the schedule next to the workload, records every fault in the history, and
  heals everything at the end, even when the run fails or is interrupted.
"""

from harness.faults.model import FaultSpec, Schedule
from harness.faults.nemesis import FaultEnvironment, Nemesis

__all__ = ["FaultEnvironment", "FaultSpec", "Nemesis", "Schedule"]
