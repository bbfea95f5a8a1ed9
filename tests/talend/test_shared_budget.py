"""The client's limiter drawing from a shared window (runners behind one address): the window's
guarantee holds across clients, leased slices waste what they cannot use in time, and the Talend
plugin wires ``budget_scope: shared`` to the run's shared budgets."""

from __future__ import annotations

import logging
import threading
from collections import deque

import pytest

from promoter.errors import ConfigurationError
from promoter.talend.client import TalendClient
from promoter.talend.plugin.sections import TalendSection
from promoter.talend.plugin.session import budget_scope
from promoter.talend.ratelimit import RateLimiter, RateLimits, SharedSlots, SlidingWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class MemoryWindow:
    """A shared window in memory, with the algorithm of the ledger's ``promoter_reserve_slots``."""

    def __init__(self, clock: FakeClock, margin_share: float = 0.0) -> None:
        self.clock = clock
        self.margin_share = margin_share
        self.slots: dict[tuple[str, str], deque[float]] = {}
        self.calls = 0
        self.lock = threading.Lock()

    def reserve(self, key: str, family: str, *, budget: int, period: float, count: int = 1) -> list[float]:
        with self.lock:
            self.calls += 1
            now = self.clock()
            margin = period * self.margin_share
            window = self.slots.setdefault((key, family), deque())
            while window and window[0] < now - period - margin:
                window.popleft()
            new: list[float] = []
            for _ in range(count):
                slot = now
                taken = list(window) + new
                if len(taken) >= budget:
                    slot = max(slot, taken[-budget] + period + margin)
                if new:
                    slot = max(slot, new[-1])
                new.append(slot)
            window.extend(new)
            return [slot - now for slot in new]


def never_over(sent: list[float], budget: int, period: float) -> bool:
    ordered = sorted(sent)
    j = 0
    for i, start in enumerate(ordered):
        while j < len(ordered) and ordered[j] < start + period:
            j += 1
        if j - i > budget:
            return False
    return True


def test_two_clients_sharing_a_window_stay_within_one_budget() -> None:
    clock = FakeClock()
    shared = MemoryWindow(clock)
    clients = [
        SharedSlots(shared, "api", "orchestration", 100, period=60.0, margin=0.0, clock=clock, sleep=clock.sleep)
        for _ in range(2)
    ]
    sent = []
    for i in range(400):  # the two clients take turns, as concurrent runners would
        clients[i % 2].acquire()
        sent.append(clock.now)
    assert never_over(sent, 100, 60.0)
    # ...and no slower than one client with the whole budget: 400 requests, 3 more windows.
    assert sent[-1] == pytest.approx(3 * 60.0)
    # Each client alone would have believed it had 100 a minute: together, 200 in the first.
    own = [SlidingWindow(100, period=60.0, margin=0.0, clock=clock, sleep=clock.sleep) for _ in range(2)]
    assert sum(1 for _ in range(200) if own[_ % 2].reserve() == 0.0) == 200


def test_leased_slices_take_fewer_round_trips_and_drop_slots_not_used_in_time() -> None:
    clock = FakeClock()
    shared = MemoryWindow(clock)
    sliced = SharedSlots(shared, "api", "processing", 1800, period=60.0, slice=32, clock=clock, sleep=clock.sleep)
    assert [sliced.acquire() for _ in range(64)] == [0.0] * 64
    assert sliced.round_trips == 2 and shared.calls == 2
    sliced.acquire()  # a third slice: 31 slots left over
    clock.now += 5.0  # the runner pauses (a long promotion): its leased slots are stale now
    sliced.acquire()
    assert sliced.wasted == 31 and sliced.round_trips == 4


def test_a_pause_holds_shared_slots_back_too() -> None:
    clock = FakeClock()
    slots = SharedSlots(MemoryWindow(clock), "api", "monitoring", 600, clock=clock, sleep=clock.sleep)
    slots.pause(2.0)
    assert slots.reserve() == pytest.approx(2.0)


def test_the_client_shares_its_budgets_under_its_url_and_keeps_its_limits() -> None:
    clock = FakeClock()
    shared = MemoryWindow(clock)
    client = TalendClient("http://127.0.0.1:9", token="t", rate_limits=RateLimits(orchestration=5, period=1.0))
    try:
        client.share_budgets(shared, slice=2)
        limiter = client.transport.limiter
        assert isinstance(limiter, RateLimiter) and limiter.shared and limiter.shared_key == client.base_url
        limiter.acquire("orchestration")
        assert ("http://127.0.0.1:9", "orchestration") in shared.slots
        assert limiter.shared_figures() == {"round_trips": 1, "wasted_slots": 0}
        assert "shared by" in repr(limiter)
    finally:
        client.close()


def test_budget_scope_comes_from_the_pipeline_then_the_environment() -> None:
    assert budget_scope(TalendSection(), {}) == "client"
    assert budget_scope(TalendSection(), {"PROMOTER_TALEND_BUDGET_SCOPE": "shared"}) == "shared"
    assert budget_scope(TalendSection(budget_scope="client"), {"PROMOTER_TALEND_BUDGET_SCOPE": "shared"}) == "client"
    with pytest.raises(ConfigurationError, match="client or shared"):
        budget_scope(None, {"PROMOTER_TALEND_BUDGET_SCOPE": "everyone"})


def test_shared_scope_without_a_team_ledger_warns_and_paces_alone(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from promoter.talend.plugin import session as session_module

    run = SimpleNamespace(budgets=None)
    section = SimpleNamespace(talend=TalendSection(budget_scope="shared"))
    monkeypatch.setattr(session_module, "config", lambda _run: section)
    client = TalendClient("http://127.0.0.1:9", token="t")
    try:
        with caplog.at_level(logging.WARNING, logger="promoter.talend"):
            session_module.share_budgets(run, client)  # type: ignore[arg-type]
        assert "keeps no shared budgets" in caplog.text
        assert not client.transport.limiter.shared
        run.budgets = MemoryWindow(FakeClock())
        session_module.share_budgets(run, client)  # type: ignore[arg-type]
        assert client.transport.limiter.shared
    finally:
        client.close()
