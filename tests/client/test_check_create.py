"""``spine.check_create``: the checks of ``runs.create``, with nothing sent.

Each bad input is given to both ``check_create`` and a real ``runs.create`` against a loopback
server: the same exception type and message, and no request reaches the server.
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import spine
from tests._fds import open_paths

from .conftest import Api

_CLOSED = io.BytesIO(b"data")
_CLOSED.close()

BAD = [
    ({"prompt": ""}, spine.InvalidRequestError),
    ({"prompt": "   "}, spine.InvalidRequestError),
    ({"prompt": 5}, TypeError),
    ({"prompt": "p", "blocks": []}, spine.InvalidRequestError),
    ({"prompt": "p", "blocks": "table-block"}, TypeError),
    ({"prompt": "p", "template": 3}, TypeError),
    ({"prompt": "p", "idempotency_key": ""}, spine.InvalidRequestError),
    ({"prompt": "p", "idempotency_key": "k" * 256}, spine.InvalidRequestError),
    ({"prompt": "p", "files": ["/no/such/file.csv"]}, FileNotFoundError),
    ({"prompt": "p", "files": [12]}, TypeError),
    ({"prompt": "p", "agent_instructions": 7}, TypeError),
    # Bad file entries are InvalidRequestError (a ValueError too), said before anything is sent.
    ({"prompt": "p", "files": [("", b"data")]}, spine.InvalidRequestError),
    ({"prompt": "p", "files": [("a.txt", b"data", "text/plain\nX: y")]}, spine.InvalidRequestError),
    ({"prompt": "p", "files": [("a.txt", b"data", "t\u00e9xt/plain")]}, spine.InvalidRequestError),
    ({"prompt": "p", "files": _CLOSED}, spine.InvalidRequestError),
    ({"prompt": "p", "files": ("no-such-notes.txt", "some text")}, FileNotFoundError),
]


def _message(call: Any, prompt: Any, kwargs: dict[str, Any]) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as caught:
        call(prompt, **kwargs)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(("kwargs", "error"), BAD)
def test_refuses_what_create_refuses_with_the_same_error(
    api: Api, httpserver: HTTPServer, base: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    kwargs = dict(kwargs)
    prompt = kwargs.pop("prompt")
    client = api.client(base_url=base)
    checked = _message(spine.check_create, prompt, kwargs)
    created = _message(lambda p, **kw: api.call(client.runs.create, p, **kw), prompt, kwargs)
    assert checked == created
    assert issubclass(checked[0], error)
    assert httpserver.log == []


def test_same_parameters_and_defaults_as_create() -> None:
    client = spine.SpineClient(api_key="sk_spine_x")
    try:
        create = inspect.signature(client.runs.create).parameters
        check = inspect.signature(spine.check_create).parameters
        assert list(check) == list(create)
        assert [p.default for p in check.values()] == [p.default for p in create.values()]
        assert [p.kind for p in check.values()] == [p.kind for p in create.values()]
    finally:
        client.close()


def test_good_input_returns_none_and_closes_what_it_opened(tmp_path: Path) -> None:
    paths = []
    for name in ("a.csv", "b.txt"):
        path = tmp_path / name
        path.write_text("x,y\n1,2\n")
        paths.append(str(path))
    stream = io.BytesIO(b"caller's bytes")
    stream.seek(3)
    result = spine.check_create(
        "Summarise these",
        template=spine.Template.REPORT,
        blocks=[spine.BlockType.TABLE, "a-block-the-sdk-does-not-know"],
        agent_instructions="be brief",
        webhook_url="https://example.com/hook",
        files=[*paths, stream],
        idempotency_key="my-key-1",
    )
    assert result is None
    assert not set(paths) & set(open_paths())  # the two paths were opened and closed again
    assert not stream.closed and stream.tell() == 3  # the caller's stream is left as it was


@pytest.mark.parametrize("name", ["files", "blocks"])
def test_a_one_shot_iterator_is_refused_not_used_up(tmp_path: Path, name: str) -> None:
    # Checking a generator would use it up, and the create that follows would get nothing.
    path = tmp_path / "data.csv"
    path.write_text("x\n")
    items = [str(path)] if name == "files" else ["table-block"]
    one_shot = (item for item in items)
    with pytest.raises(TypeError, match=f"would use up {name}"):
        spine.check_create("p", **{name: one_shot})
    assert list(one_shot) == items  # untouched
    assert spine.check_create("p", **{name: items}) is None  # a list is fine
    assert spine.check_create("p", **{name: tuple(items)}) is None


def test_a_single_file_object_is_not_taken_for_an_iterator(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x\n")
    with path.open("rb") as stream:  # a file object iterates over itself, yet is one file
        assert spine.check_create("p", files=stream) is None
        assert not stream.closed and stream.tell() == 0


def test_a_tuple_of_two_str_is_two_paths_and_the_error_says_how_to_send_text() -> None:
    with pytest.raises(FileNotFoundError, match=r"to send text as a file, pass \(filename"):
        spine.check_create("p", files=("no-such-notes.txt", "some text"))
    with pytest.raises(FileNotFoundError) as caught:  # a list of paths gets no such advice
        spine.check_create("p", files=["no-such-notes.txt"])
    assert "send text" not in str(caught.value)
