"""The one seam into httpcore's internals (``spine/_transport/_budget.py``): it takes effect on
the SDK's own pools, and where a pool has another shape the SDK falls back to checking its
budget between body chunks."""

from __future__ import annotations

import time

import httpx
import pytest

import spine
from spine._transport import install_budget
from spine._transport._budget import _AsyncBudgetBackend, _BudgetBackend

from . import _server as b
from ._server import FaultServer

KEY = "sk_spine_seam_0123456789abcdef"


class WrappingTransport(httpx.BaseTransport):
    """A transport of the caller's own (say, one that adds tracing) around a real one."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_the_budget_wraps_every_pool_of_an_sdk_owned_client() -> None:
    http = httpx.Client(mounts={"http://proxied.example": httpx.HTTPTransport()})
    assert install_budget(http) is True
    pools = [http._transport._pool, *(m._pool for m in http._mounts.values())]  # type: ignore[attr-defined,union-attr]
    assert all(isinstance(p._network_backend, _BudgetBackend) for p in pools)
    assert install_budget(http) is True  # idempotent: never wrapped twice
    assert not isinstance(pools[0]._network_backend._inner, _BudgetBackend)
    http.close()


def test_the_async_budget_wraps_the_async_pool() -> None:
    http = httpx.AsyncClient()
    assert install_budget(http) is True
    assert isinstance(http._transport._pool._network_backend, _AsyncBudgetBackend)  # type: ignore[attr-defined]


def test_a_pool_of_another_shape_is_left_alone_and_reported() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert install_budget(http) is False


def test_the_fallback_still_bounds_a_trickled_body_between_chunks(server: FaultServer) -> None:
    """An injected client the seam cannot wrap: a body trickled byte by byte is still cut off at
    the request's budget, by the check between chunks."""
    http = httpx.Client(transport=WrappingTransport())
    assert install_budget(http) is False
    client = spine.SpineClient(
        api_key=KEY,
        base_url=server.url,
        http_client=http,
        timeout=0.5,
        retry_policy=spine.RetryPolicy.none(),
    )
    handle = client.runs.create("Summarise Q1")
    server.script(b.trickle(interval=0.05, chunk=1))
    began = time.monotonic()
    with pytest.raises(spine.SpineTimeoutError):
        client.runs.get(handle.run_id)
    assert time.monotonic() - began < 1.5
    assert server.runs == 1
    http.close()
