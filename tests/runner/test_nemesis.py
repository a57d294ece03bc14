"""The nemesis against the real Toxiproxy: faults start on their trigger, and are always healed."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
import redis

from harness.faults import FaultEnvironment, FaultSpec, Nemesis
from harness.faults.nemesis import FaultHealError, FaultUnavailableError
from harness.faults.schedule import PhaseBoard
from harness.history import History
from harness.stack.network import free_port
from harness.stack.proxies import ProxyServer
from harness.stack.stack import Stack
from harness.stripe import StripeSimulator


@pytest.fixture
def sim(stack: Stack) -> Iterator[StripeSimulator]:
    with StripeSimulator(
        stack.stripe_mock_url, webhook_secret="whsec_" + secrets.token_hex(8)
    ) as s:
        yield s


def redis_answers(stack: Stack) -> bool:
    client = redis.Redis.from_url(
        stack.proxied["redis"], socket_timeout=5, socket_connect_timeout=5
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def nemesis_for(
    stack: Stack, sim: StripeSimulator, *specs: FaultSpec
) -> tuple[Nemesis, PhaseBoard, History]:
    history, phases = History(), PhaseBoard()
    env = FaultEnvironment(history=history, phases=phases, simulator=sim, toxiproxy=stack.toxiproxy)
    return Nemesis(env, list(specs)), phases, history


def test_a_fault_waits_for_its_phase_and_heals_at_the_next(
    healed: Stack, sim: StripeSimulator
) -> None:
    spec = FaultSpec.model_validate(
        {"kind": "down", "link": "redis", "schedule": {"at_phase": "pay", "until_phase": "paid"}}
    )

    async def scenario() -> list[bool]:
        nemesis, phases, _ = nemesis_for(healed, sim, spec)
        nemesis.start()
        seen = [await asyncio.to_thread(redis_answers, healed)]  # before "pay": up
        await phases.announce("pay")  # returns once the fault is in place
        seen.append(await asyncio.to_thread(redis_answers, healed))  # during: down
        await phases.announce("paid")  # returns once it is healed
        seen.append(await asyncio.to_thread(redis_answers, healed))  # after: up
        await nemesis.heal_all()
        assert nemesis.never_started() == []
        return seen

    assert asyncio.run(scenario()) == [True, False, True]


def test_heal_all_heals_a_fault_that_has_no_end(healed: Stack, sim: StripeSimulator) -> None:
    specs = [
        FaultSpec.model_validate({"kind": "down", "link": "redis"}),
        FaultSpec.model_validate(
            {"kind": "latency", "link": "postgres", "params": {"latency": 50}}
        ),
    ]

    async def scenario() -> History:
        nemesis, _, history = nemesis_for(healed, sim, *specs)
        nemesis.start()
        await nemesis.wait_injected(2)
        assert not await asyncio.to_thread(redis_answers, healed)
        await nemesis.heal_all()
        return history

    history = asyncio.run(scenario())
    assert redis_answers(healed)
    assert healed.toxiproxy.proxy("postgres").toxics() == {}
    kinds = [(op.f, op.value["kind"]) for op in history.completions("start_fault")]
    assert sorted(kinds) == [("start_fault", "down"), ("start_fault", "latency")]
    healed = sorted(op.value["name"] for op in history.completions("stop_fault"))
    assert healed == ["all", "postgres-latency", "redis-down"]


def test_a_fault_whose_phase_never_comes_is_reported(healed: Stack, sim: StripeSimulator) -> None:
    spec = FaultSpec.model_validate(
        {"kind": "down", "link": "redis", "schedule": {"at_phase": "pay"}}
    )

    async def scenario() -> list[str]:
        nemesis, _, _ = nemesis_for(healed, sim, spec)
        nemesis.start()
        await nemesis.heal_all()
        return nemesis.never_started()

    assert asyncio.run(scenario()) == ["redis-down"]
    assert redis_answers(healed)


def test_unavailable_faults_are_refused_before_the_run(stack: Stack, sim: StripeSimulator) -> None:
    history, phases = History(), PhaseBoard()
    env = FaultEnvironment(
        history=history,
        phases=phases,
        simulator=sim,
        toxiproxy=stack.toxiproxy,
        faultable_links=frozenset({"stripe"}),
        target=None,
    )
    with pytest.raises(FaultUnavailableError, match="process faults need a target"):
        Nemesis(env, [FaultSpec(kind="kill_restart")]).check_available()
    with pytest.raises(FaultUnavailableError, match="redis link does not pass through Toxiproxy"):
        Nemesis(env, [FaultSpec(kind="down", link="redis")]).check_available()


def test_toxic_attributes_are_checked() -> None:
    with pytest.raises(ValueError, match="no attribute 'latancy'"):
        FaultSpec.model_validate({"kind": "latency", "link": "redis", "params": {"latancy": 5}})


def test_a_periodic_fault_repeats_its_window(healed: Stack, sim: StripeSimulator) -> None:
    spec = FaultSpec.model_validate(
        {
            "kind": "latency",
            "link": "redis",
            "params": {"latency": 20},
            "schedule": {"duration_s": 0.1, "period_s": 0.25, "count": 3},
        }
    )

    async def scenario() -> History:
        nemesis, _, history = nemesis_for(healed, sim, spec)
        nemesis.start()
        await nemesis.wait_schedules()  # a periodic fault ends after its last cycle
        await nemesis.heal_all()
        return history

    history = asyncio.run(scenario())
    starts = history.completions("start_fault")
    stops = [op for op in history.completions("stop_fault") if op.value["name"] != "all"]
    assert [op.value["cycle"] for op in starts] == [0, 1, 2]
    assert [op.value["cycle"] for op in stops] == [0, 1, 2]
    for start, stop in zip(starts, stops, strict=True):
        assert start.time_s < stop.time_s
    # Each window is followed by a healthy gap before the next one starts.
    assert all(stops[i].time_s <= starts[i + 1].time_s for i in range(2))
    assert healed.toxiproxy.proxy("redis").toxics() == {}


def test_heal_all_runs_every_step_even_when_one_fails(sim: StripeSimulator) -> None:
    dead = ProxyServer(f"http://127.0.0.1:{free_port()}")  # nothing listens: reset() fails
    sim.faults.fail(500, times=3)
    env = FaultEnvironment(history=History(), phases=PhaseBoard(), simulator=sim, toxiproxy=dead)
    nemesis = Nemesis(env, [FaultSpec(kind="stripe_429", params={"times": 2})])

    async def scenario() -> None:
        nemesis.start()
        await nemesis.heal_all()

    with pytest.raises(FaultHealError, match="Toxiproxy reset"):
        asyncio.run(scenario())
    assert sim.faults.armed() == []  # the steps after the failed one still ran
    healed = [op.value["name"] for op in env.history.completions("stop_fault")]
    assert "all" in healed
