"""Artifact downloads ride out a storage host's hiccups under the client's retry policy, and an
expired link is refreshed once through the run, by one SDK mechanism that ``spine download``
uses too. Against the sandbox: its ``/files/...`` links are pre-signed and expire on its clock.

The clients' sleep only advances a fake clock (``conftest.Api``): no test waits for real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

from .conftest import KEY, RETRY, Api

PROMPT = "A report with a table"
BLOCKS = ["document-block", "excel-block", "presentation-block", "memo-block"]  # 4 artifacts


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def box(clock: Clock) -> Iterator[Sandbox]:
    with Sandbox(run_duration=None, clock=clock, artifact_ttl=60) as sandbox:
        yield sandbox


def _finished(api: Api, box: Sandbox, client: Any) -> tuple[Any, spine.RunResult]:
    handle = api.call(client.runs.create, PROMPT, blocks=BLOCKS)
    box.complete(handle.run_id)
    result = api.call(handle.wait, poll_interval=1)
    assert len(result.artifacts) == 4
    return handle, result


def _files(box: Sandbox) -> list[Any]:
    return [r for r in box.requests if r.path.startswith("/files/")]


def _polls(box: Sandbox) -> list[Any]:
    return [r for r in box.requests if r.method == "GET" and r.path.startswith("/v1/run/")]


def _download_all(api: Api, result: spine.RunResult, directory: Path, **kw: Any) -> list[Path]:
    method = result.adownload_all if api.is_async else result.download_all
    paths: list[Path] = api.call(method, directory, **kw)
    return paths


def _check(result: spine.RunResult, paths: list[Path]) -> None:
    assert [p.stat().st_size for p in paths] == [a.size_bytes for a in result.artifacts]
    assert not [n for n in os.listdir(paths[0].parent) if n.startswith(".spine-")]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},  # the example: a transient 5xx
        {"status": 500},
        {"status": 502, "body": "<html>Bad gateway</html>", "content_type": "text/html"},
        {"status": 504},
        {"status": 408},
        {"status": 429},
        {"drop": "before"},  # a reset from the file host
        {"drop": "after"},
    ],
    ids=["503", "500", "502-html", "504", "408", "429", "reset-before", "reset-after"],
)
def test_download_all_rides_out_transient_failures(
    api: Api, box: Sandbox, tmp_path: Path, fault: dict[str, Any]
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    box.inject(path="/files/*", times=3, **fault)
    paths = _download_all(api, result, tmp_path)
    _check(result, paths)
    assert len(_files(box)) == len(result.artifacts) + 3
    assert len(api.sleeps) == 3  # the retries slept, under the client's policy


def test_retry_after_from_the_file_host_is_honoured(
    api: Api, box: Sandbox, tmp_path: Path
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    sleeps_before = len(api.sleeps)
    box.inject(path="/files/*", status=429, retry_after=7)
    _check(result, _download_all(api, result, tmp_path))
    assert api.sleeps[sleeps_before:] == [7.0]


def test_the_client_policy_bounds_the_retries(api: Api, box: Sandbox, tmp_path: Path) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    box.inject(path="/files/*", status=503, times=None)
    with pytest.raises(spine.ArtifactDownloadError) as info:
        _download_all(api, result, tmp_path)
    assert info.value.status_code == 503
    # Each file is tried 1 + max_retries times at most (async: others run meanwhile).
    per_file = Counter(r.path for r in _files(box))
    assert max(per_file.values()) == 1 + RETRY.max_retries
    if not api.is_async:
        assert len(per_file) == 1  # one after another: the first failure stops the batch
    assert [n for n in os.listdir(tmp_path) if n.startswith(".spine-")] == []


def test_an_explicit_policy_wins(api: Api, box: Sandbox, tmp_path: Path) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    box.inject(path="/files/*", status=503, times=1)
    with pytest.raises(spine.ArtifactDownloadError):
        _download_all(api, result, tmp_path, retry_policy=spine.RetryPolicy.none())
    assert api.sleeps == []
    assert max(Counter(r.path for r in _files(box)).values()) == 1


@pytest.mark.parametrize("status", [410, 404])
def test_what_is_not_transient_is_not_retried(
    api: Api, box: Sandbox, tmp_path: Path, status: int
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    box.inject(path="/files/*", status=status, times=None)
    with pytest.raises(spine.ArtifactLinkExpiredError):
        _download_all(api, result, tmp_path)
    # An expired link is refreshed once through the run; then it is given up, unretried.
    assert max(Counter(r.path for r in _files(box)).values()) == 2
    assert api.sleeps == []


def test_a_single_artifact_retries_too(api: Api, box: Sandbox, tmp_path: Path) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    artifact = result.artifacts[0]
    box.inject(path="/files/*", status=503, times=2)
    method = artifact.adownload if api.is_async else artifact.download
    path = api.call(method, tmp_path)
    assert path.stat().st_size == artifact.size_bytes
    assert len(api.sleeps) == 2


# ----------------------------------------------------------------------------- expired links


def test_expired_links_are_refreshed_once_through_the_run(
    api: Api, box: Sandbox, clock: Clock, tmp_path: Path
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    old_links = [a.download_url for a in result.artifacts]
    clock.now += 3600  # every link has expired
    polls = len(_polls(box))
    paths = _download_all(api, result, tmp_path)
    _check(result, paths)
    assert len(_polls(box)) == polls + 1, "one refresh, through the run"
    assert [a.download_url for a in result.artifacts] != old_links  # the fresh links
    # One refused, then all fresh (async: the concurrent ones were refused meanwhile too).
    refused = len(result.artifacts) if api.is_async else 1
    assert len(_files(box)) == len(result.artifacts) + refused


def test_a_run_from_runs_get_refreshes_too(
    api: Api, box: Sandbox, clock: Clock, tmp_path: Path
) -> None:
    client = api.client(base_url=box.url)
    handle, _ = _finished(api, box, client)
    run = api.call(client.runs.get, handle.run_id)
    clock.now += 3600
    _check(run.result, _download_all(api, run.result, tmp_path))


def test_a_single_expired_artifact_is_refreshed(
    api: Api, box: Sandbox, clock: Clock, tmp_path: Path
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    artifact = result.artifacts[1]
    clock.now += 3600
    method = artifact.adownload if api.is_async else artifact.download
    path = api.call(method, tmp_path / "one.bin")
    assert path.stat().st_size == artifact.size_bytes


def test_a_link_that_stays_expired_is_given_up_after_one_refresh(
    api: Api, box: Sandbox, tmp_path: Path
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    polls = len(_polls(box))
    box.inject(path="/files/*", status=403, times=None)
    with pytest.raises(spine.ArtifactLinkExpiredError):
        _download_all(api, result, tmp_path)
    assert len(_polls(box)) == polls + 1


def test_a_result_built_by_hand_cannot_refresh(
    api: Api, box: Sandbox, clock: Clock, tmp_path: Path
) -> None:
    client = api.client(base_url=box.url)
    _, result = _finished(api, box, client)
    standalone = spine.RunResult.model_validate(result.model_dump())  # no client behind it
    clock.now += 3600
    polls = len(_polls(box))
    with pytest.raises(spine.ArtifactLinkExpiredError):
        _download_all(api, standalone, tmp_path, retry_policy=spine.RetryPolicy.none())
    assert len(_polls(box)) == polls


# ----------------------------------------------------------------------------- the CLI


def test_spine_download_uses_the_same_mechanism(box: Sandbox, tmp_path: Path) -> None:
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        handle = client.runs.create(PROMPT, blocks=BLOCKS)
        box.complete(handle.run_id)
        count = len(client.runs.get(handle.run_id).result.artifacts)  # type: ignore[union-attr]
    # An expired link (the storage host's 403), then a hiccup; the command fetched the run
    # itself, so the link is refused rather than old.
    box.inject(path="/files/*", status=403, error="Request has expired", times=1)
    box.inject(path="/files/*", status=503, retry_after=0, times=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_")}
    env.update(SPINE_API_KEY=KEY, SPINE_BASE_URL=box.url)
    proc = subprocess.run(
        [sys.executable, "-m", "spine", "download", handle.run_id, str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "retrying" in proc.stderr
    assert "reading the run again for its current links" in proc.stderr
    assert len(proc.stdout.splitlines()) == count
    assert all(Path(line).is_file() for line in proc.stdout.splitlines())
