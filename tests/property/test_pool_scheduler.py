"""Properties of the SDK's pool scheduler (``spine/_transport/_pool.py``), on pool states drawn
at random: with every idle connection asked (a sweep) it decides exactly as httpcore's own
scheduler does, and in every state it never touches a connection a request holds, never hands
out a connection that cannot serve the request, and asks sockets only when it must.

The pools are httpcore's real pool classes; only their connections are stand-ins, so that any
state (closed, expired, idle, busy, another origin) can be drawn without a network."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpcore
from httpcore._sync.connection_pool import PoolRequest
from hypothesis import HealthCheck, given, settings, strategies as st

from spine._transport._pool import _LeanPool

PROPS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORIGINS = ["http://a.example", "http://b.example"]


@dataclass(eq=False)
class Conn:
    """A stand-in for an HTTP/1.1 connection: the interface a pool's scheduler reads."""

    ident: int
    origin: str
    idle: bool = True
    closed: bool = False
    expired: bool = False
    #: How often it was asked whether it expired while idle (a system call on a real one).
    asked: int = field(default=0)

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        if self.is_idle():
            self.asked += 1
        return self.expired

    def is_idle(self) -> bool:
        return self.idle and not self.closed

    def is_available(self) -> bool:
        return self.idle and not self.closed

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == httpcore.URL(self.origin).origin

    def close(self) -> None:  # pragma: no cover - the pool's caller closes, not the scheduler
        self.closed = True


class _Creating:
    """New connections get idents from 1000 on, in order of creation."""

    def create_connection(self, origin: httpcore.Origin) -> Any:
        counter = self.__dict__.setdefault("_made", itertools.count(1000))
        return Conn(next(counter), "created", idle=False)


class StockPool(_Creating, httpcore.ConnectionPool):
    pass


class LeanPool(_Creating, _LeanPool):
    pass


@dataclass
class State:
    conns: list[dict[str, Any]]
    requests: list[tuple[str, int | None]]  # (origin, index of the connection held, or None)
    max_connections: int
    keepalive: int


@st.composite
def states(draw: st.DrawFn, *, same_as_httpcore: bool) -> State:
    n = draw(st.integers(0, 8))
    conns = [
        {
            "origin": draw(st.sampled_from(ORIGINS)),
            "idle": draw(st.booleans()),
            "closed": draw(st.booleans()),
            "expired": draw(st.booleans()),
        }
        for _ in range(n)
    ]
    requests: list[tuple[str, int | None]] = []
    # Requests in flight hold a busy (not idle, not expired) open connection, one each.
    busy = [i for i, c in enumerate(conns) if not c["idle"] and not c["closed"]]
    for i in draw(st.lists(st.sampled_from(busy), unique=True) if busy else st.just([])):
        conns[i]["expired"] = False
        requests.append((conns[i]["origin"], i))
    if not same_as_httpcore:
        # A request handed an idle connection whose thread has not started sending on it yet;
        # the answer to it may already be arriving (the socket then reads as "expired").
        idle = [i for i, c in enumerate(conns) if c["idle"] and not c["closed"]]
        for i in draw(st.lists(st.sampled_from(idle), unique=True) if idle else st.just([])):
            requests.append((conns[i]["origin"], i))
    # httpcore hands one idle connection to every waiting request (they then race for it);
    # the comparison keeps to one waiting request.
    queued = draw(st.integers(0, 1 if same_as_httpcore else 4))
    requests += [(draw(st.sampled_from(ORIGINS)), None) for _ in range(queued)]
    order = draw(st.permutations(range(len(requests))))
    max_connections = draw(st.integers(1, 10))
    keepalive = draw(st.integers(0, max_connections))
    return State(conns, [requests[i] for i in order], max_connections, keepalive)


def build(cls: type[Any], state: State) -> tuple[Any, list[Conn], list[PoolRequest]]:
    pool = cls(max_connections=state.max_connections, max_keepalive_connections=state.keepalive)
    conns = [Conn(i, **c) for i, c in enumerate(state.conns)]
    pool._connections = list(conns)
    requests = []
    for origin, held in state.requests:
        request = PoolRequest(httpcore.Request("GET", origin + "/v1/run/x"))
        if held is not None:
            request.assign_to_connection(conns[held])
        requests.append(request)
    pool._requests = list(requests)
    return pool, conns, requests


def outcome(pool: Any, closing: list[Any], requests: list[PoolRequest]) -> tuple[Any, ...]:
    return (
        [c.ident for c in closing],
        [c.ident for c in pool._connections],
        [None if r.connection is None else r.connection.ident for r in requests],
    )


@PROPS
@given(states(same_as_httpcore=True))
def test_with_a_sweep_it_decides_as_httpcore_does(state: State) -> None:
    stock, _, stock_requests = build(StockPool, state)
    lean, _, lean_requests = build(LeanPool, state)
    lean.sweep_every = 0.0
    expected = outcome(stock, stock._assign_requests_to_connections(), stock_requests)
    assert outcome(lean, lean._assign_requests_to_connections(), lean_requests) == expected


@PROPS
@given(states(same_as_httpcore=False), st.booleans())
def test_it_never_touches_a_held_connection_and_hands_out_only_usable_ones(
    state: State, sweep: bool
) -> None:
    lean, conns, requests = build(LeanPool, state)
    if sweep:
        lean.sweep_every = 0.0
    else:  # swept a moment ago, not again
        lean.sweep_every, lean._swept_at = math.inf, time.monotonic()
    held_before = {id(r.connection) for r in requests if r.connection is not None}
    opened_before = [c for c in conns if not c.closed]
    closing = lean._assign_requests_to_connections()

    closed = {id(c) for c in closing}
    assert not closed & held_before
    for conn in conns:
        if id(conn) in held_before:
            assert conn.asked == 0, "a held connection's socket was asked"
            assert conn in lean._connections
    handed = [r.connection for r in requests if r.connection is not None]
    assert len({id(c) for c in handed}) == len(handed), "a connection was handed out twice"
    for request in requests:
        conn = request.connection
        if conn is None or id(conn) in held_before:
            continue
        assert conn in lean._connections
        assert conn.ident >= 1000 or (
            conn.is_available()
            and not conn.expired
            and conn.can_handle_request(request.request.url.origin)
        )
    if len(opened_before) <= state.max_connections:
        assert len(lean._connections) <= state.max_connections
    if not sweep:
        # Between sweeps a socket is asked only for an idle connection about to be handed out,
        # once at most, and only when a request waits for one.
        assert all(c.asked <= 1 for c in conns)
        if all(held is not None for _, held in state.requests):
            assert sum(c.asked for c in conns) == 0
