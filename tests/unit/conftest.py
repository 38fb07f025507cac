"""Shared helpers for the pure unit tests: an injectable clock and sleep that never sleep."""

from __future__ import annotations

import pytest


class FakeClock:
    """A monotonic clock that only moves when told to (or when FakeClock.sleep is called)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
