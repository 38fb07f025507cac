"""Properties of the input side: any id lands in exactly one escaped path segment (or is refused
before any request), and ``files=`` normalisation keeps every byte, never opens or closes what it
should not, and fails only with the documented exceptions."""

from __future__ import annotations

import io
import os
import re
import tempfile
import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from spine import _operations as ops
from spine._files import DEFAULT_FILENAME, normalize_files

from ._multipart import build

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.one_of(
    st.text(st.characters(), max_size=40),
    st.lists(
        st.sampled_from(
            [
                "..",
                ".",
                "/",
                "%",
                "%2e",
                "%2F",
                "?",
                "#",
                "\\",
                " ",
                "\0",
                "\r\n",
                "ü",
                "😀",
                ";",
                "&",
            ]
        ),
        max_size=8,
    ).map("".join),
    st.integers(min_value=1000, max_value=3000).map(lambda n: "x" * n),
)


ids = st.one_of(
    ids,
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids(),
    st.uuids().map(lambda u: u.hex),  # no dashes: not the declared form
)
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _segments(request: httpx.Request) -> list[str]:
    raw = request.url.raw_path.decode("ascii")
    assert "?" not in raw and "#" not in raw
    return raw.split("/")


def _canonical(value: object) -> str | None:
    """The UUID an id stands for, when it is one in the spec's form (else None)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _UUID.fullmatch(value):
        return value.lower()
    return None


@PROPS
@given(run_id=ids, task_id=ids)
def test_any_id_is_one_path_segment_or_refused_before_sending(run_id: Any, task_id: Any) -> None:
    for build_op, values, fixed in [
        (ops.get_run, (run_id,), ["", "v1", "run", None]),
        (ops.get_dag, (run_id,), ["", "v1", "canvas", None, "dag"]),
        (ops.get_tasks, (run_id,), ["", "v1", "canvas", None, "tasks"]),
        (ops.get_task, (run_id, task_id), ["", "v1", "canvas", None, "tasks", None]),
    ]:
        try:
            op = build_op(*values)  # type: ignore[operator]
        except ops.InvalidRequestError:
            assert any(_canonical(v) is None for v in values), "a UUID is never refused"
            continue
        canonical = [_canonical(v) for v in values]
        assert None not in canonical, "only UUIDs are sent"
        segments = _segments(build(op))
        assert len(segments) == len(fixed)
        found = iter(canonical)
        for segment, expected in zip(segments, fixed, strict=True):
            if expected is None:
                assert segment == next(found)  # the canonical form: nothing to escape
            else:
                assert segment == expected
        assert op.expect, "the answer is checked against the ids asked for"


# ----------------------------------------------------------------------------- files

_TMP = tempfile.mkdtemp(prefix="spine-prop-")


@st.composite
def entries(draw: st.DrawFn) -> tuple[Any, bytes, bool]:
    """An entry of any accepted shape: (entry, bytes it must send, whether the SDK owns it)."""
    data = draw(st.binary(max_size=300))
    kind = draw(
        st.sampled_from(["path", "pathlike", "fileobj", "partly", "tuple", "mapping", "pipe"])
    )
    if kind in ("path", "pathlike"):
        fd, path = tempfile.mkstemp(dir=_TMP, suffix=".bin")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return (path if kind == "path" else _PathLike(path)), data, True
    if kind == "fileobj":
        return io.BytesIO(data), data, False
    if kind == "partly":
        skip = draw(st.binary(min_size=1, max_size=20))
        stream = io.BytesIO(skip + data)
        stream.read(len(skip))
        return ("p.bin", stream), data, False
    if kind == "pipe":
        return ("pipe.bin", _Pipe(data)), data, False
    content: Any = draw(st.sampled_from([bytes, bytearray, memoryview]))(data)
    if kind == "tuple":
        return ("t.bin", content), data, True
    return {"filename": "m.bin", "content": content}, data, True


class _PathLike(os.PathLike[str]):
    def __init__(self, path: str) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return self._path


class _Pipe(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@PROPS
@given(items=st.lists(entries(), max_size=5))
def test_normalised_uploads_send_every_byte_and_own_only_what_the_sdk_opened(
    items: list[tuple[Any, bytes, bool]],
) -> None:
    uploads = normalize_files([entry for entry, _, _ in items])
    assert len(uploads) == len(items)
    for upload, (_entry, data, owned) in zip(uploads, items, strict=True):
        assert upload.owned is owned
        assert upload.filename and "/" not in upload.filename and "\\" not in upload.filename
        upload.filename.encode("utf-8")
        assert upload.stream.read() == data
        if upload.replayable:  # a retry sends it all again
            upload.rewind()
            assert upload.stream.read() == data
    for upload in uploads:
        upload.close()
    for upload, (entry, _, owned) in zip(uploads, items, strict=True):
        caller = entry[1] if isinstance(entry, tuple) else entry
        if owned:
            assert upload.stream.closed
        elif hasattr(caller, "closed"):
            assert not caller.closed, "a caller's stream is never closed"


junk = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.text(max_size=5).map(lambda t: (t,)),
    st.tuples(st.integers(), st.binary()),
    st.tuples(st.text(max_size=5), st.text(max_size=5)),
    st.tuples(st.text(max_size=5), st.binary(), st.integers()),
    st.dictionaries(st.text(max_size=8), st.binary(), max_size=3),
    st.binary(max_size=5),
    st.builds(io.StringIO, st.text(max_size=5)),
    st.text(min_size=1, max_size=10).map(
        lambda t: os.path.join(_TMP, "missing", t.replace("\0", ""))
    ),
)


@PROPS
@given(good=st.lists(entries(), max_size=3), bad=junk, where=st.integers(0, 3))
def test_bad_entries_fail_with_documented_errors_and_close_what_was_opened(
    good: list[tuple[Any, bytes, bool]], bad: Any, where: int
) -> None:
    import builtins

    import spine._files as files_module

    opened: list[Any] = []

    def tracking_open(*args: Any, **kwargs: Any) -> Any:
        fh = builtins.open(*args, **kwargs)  # noqa: SIM115 - closed by the code under test
        opened.append(fh)
        return fh

    given_entries: list[Any] = [e for e, _, _ in good]
    given_entries.insert(min(where, len(given_entries)), bad)
    files_module.open = tracking_open  # type: ignore[attr-defined]
    try:
        uploads = normalize_files(given_entries)
    except (TypeError, ValueError, OSError):
        pass  # FileNotFoundError, IsADirectoryError and PermissionError are OSErrors
    else:  # acceptable after all (say, a one-item tuple of a path)
        for upload in uploads:
            upload.close()
    finally:
        del files_module.open  # type: ignore[attr-defined]
    assert all(fh.closed for fh in opened)
    for entry, _, owned in good:
        caller = entry[1] if isinstance(entry, tuple) else entry
        if not owned and hasattr(caller, "closed"):
            assert not caller.closed


def test_default_filename_for_nameless_streams() -> None:
    (upload,) = normalize_files([io.BytesIO(b"x")])
    assert upload.filename == DEFAULT_FILENAME
