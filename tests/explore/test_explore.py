"""The explorer against real targets: the reference passes; zoo members are caught and shrunk.

Every run is derandomized with a fixed seed, so the same examples run every time.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from harness.explore import ExploreOptions, explore
from harness.explore import cli as explore_cli
from harness.explore.world import is_rule_call
from harness.settings import Settings
from harness.stack.stack import Stack
from harness.target.config import REFERENCE, TargetConfig

# Bounded: 15 examples x 15 steps find both bugs below; shrinking stops after 30 examples in a
# row without a smaller failure (a minute at most), which is enough to reach the minimum here.
OPTIONS = ExploreOptions(examples=15, steps=15, seed=1, max_seconds=60, shrink_patience=30)


def zoo(member: str) -> TargetConfig:
    return TargetConfig(
        name=f"zoo:{member}", command=["{python}", "-m", "reference_impl.zoo", member]
    )


def test_reference_passes_a_bounded_exploration(stack: Stack) -> None:
    result = explore(REFERENCE, stack, OPTIONS)

    assert result.failure is None, result.failure
    # Hypothesis counts only examples it could complete; some are cut short after a few steps.
    assert result.examples >= OPTIONS.examples
    assert result.steps > OPTIONS.examples * OPTIONS.steps // 2  # most examples ran in full
    assert not result.out_of_time


def test_cart_not_locked_is_caught_and_shrunk_through_the_cli(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's whole failure path, on the session's stack: exit 1, the shrunk program and
    the violated expectation printed and written to failure.txt."""

    @contextlib.contextmanager
    def session_stack(*_args: object, **_kwargs: object) -> Iterator[Stack]:
        yield stack

    monkeypatch.setattr(explore_cli, "start_stack", session_stack)
    target = tmp_path / "zoo.toml"
    target.write_text(
        'name = "zoo:cart-not-locked"\n'
        'command = ["{python}", "-m", "reference_impl.zoo", "cart-not-locked"]\n'
        f'cwd = "{Path.cwd()}"\n'
    )
    out = io.StringIO()

    code = explore_cli.explore_command(
        settings=Settings(),
        target=target,
        options=OPTIONS,
        out=tmp_path / "report",
        console=Console(file=out, width=120),
        err=Console(file=io.StringIO()),
    )

    assert code == 1
    written = (tmp_path / "report" / "failure.txt").read_text()
    printed = " ".join(out.getvalue().split())  # rich wraps long lines
    assert "FAIL after" in printed
    assert "the contract says 409" in written
    assert "state.edit_after_checkout(" in printed
    assert str(tmp_path / "report" / "failure.txt") in printed
    program = written.split("minimal reproduction", 1)[1].split("what the target answered")[0]
    steps = [line.strip() for line in program.splitlines() if is_rule_call(line.strip())]
    assert any(step.startswith("state.edit_after_checkout(") for step in steps), program
    assert len(steps) <= 6, program
    assert f"--seed {OPTIONS.seed}" in written  # the replay command


def test_client_price_is_caught(stack: Stack) -> None:
    result = explore(zoo("client-price"), stack, OPTIONS)

    assert result.failure is not None
    assert "amount-integrity" in result.failure.message
    assert any("tamper_prices=True" in line for line in result.failure.reproduction)
    assert result.failure.steps <= 6, result.failure.reproduction
