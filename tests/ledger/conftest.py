"""Fixtures for the ledger and batch tests: a sandbox over real loopback HTTP, a ledger file
in a temporary folder, and clients of both kinds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

KEY = "sk_spine_ledger_test_secret_0123456789"


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.3) as sandbox:
        yield sandbox


@pytest.fixture
def manual_box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=None) as sandbox:
        yield sandbox


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger" / "runs.sqlite3"


@pytest.fixture(autouse=True)
def _no_user_ledger(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may write into the real user's ledger: the default points into tmp_path."""
    monkeypatch.delenv("SPINE_LEDGER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def sync_client(box: Sandbox, **kwargs: Any) -> spine.SpineClient:
    return spine.SpineClient(api_key=KEY, base_url=box.url, **kwargs)


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
