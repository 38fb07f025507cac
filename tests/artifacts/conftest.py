"""One test body for both download drivers: ``dl.one(...)`` / ``dl.all(...)`` call the sync
method or run the async twin to completion, so every behaviour is checked on both."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from spine import RunArtifact, RunResult


class Driver:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def one(
        self,
        artifact: RunArtifact,
        dest: Any,
        client_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Path:
        """``artifact.download(dest, ...)`` or its async twin; with ``client_kwargs``, through
        an ``http_client`` of the right kind built from them (inside the event loop)."""
        if self.mode == "sync":
            if client_kwargs is None:
                return artifact.download(dest, **kwargs)
            with httpx.Client(**client_kwargs) as client:
                return artifact.download(dest, http_client=client, **kwargs)

        async def go() -> Path:
            if client_kwargs is None:
                return await artifact.adownload(dest, **kwargs)
            async with httpx.AsyncClient(**client_kwargs) as client:
                return await artifact.adownload(dest, http_client=client, **kwargs)

        return asyncio.run(go())

    def all(
        self,
        result: RunResult,
        directory: Any,
        client_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Path]:
        """``result.download_all(directory, ...)`` or its async twin."""
        if self.mode == "sync":
            if client_kwargs is None:
                return result.download_all(directory, **kwargs)
            with httpx.Client(**client_kwargs) as client:
                return result.download_all(directory, http_client=client, **kwargs)

        async def go() -> list[Path]:
            if client_kwargs is None:
                return await result.adownload_all(directory, **kwargs)
            async with httpx.AsyncClient(**client_kwargs) as client:
                return await result.adownload_all(directory, http_client=client, **kwargs)

        return asyncio.run(go())


@pytest.fixture(params=["sync", "async"])
def dl(request: pytest.FixtureRequest) -> Driver:
    return Driver(request.param)


def artifact(
    url: str, name: str = "Report.docx", size: int | None = None, **kw: Any
) -> RunArtifact:
    return RunArtifact(
        id=kw.get("id", "5736adf4-2413-5fb6-99ee-d19a2c7c4d2a"),
        type=kw.get("type", "docx"),
        name=name,
        download_url=url,
        size_bytes=size,
    )


def leftovers(directory: Path) -> list[str]:
    """Temporary download files left behind (there must never be any)."""
    return sorted(p.name for p in directory.rglob("*.part"))
