"""Normalisation of ``files=``: every accepted shape, errors, ownership, byte exactness."""

from __future__ import annotations

import array
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings, strategies as st

import spine._files as files_module
from spine._exceptions import InvalidRequestError
from spine._files import (
    ACCEPTED_SHAPES,
    UploadFile,
    guess_content_type,
    normalize_files,
    opened_files,
)

DATA = b"col1,col2\r\n1,2\r\n" + bytes(range(256))


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "sales data.csv"
    path.write_bytes(DATA)
    return path


def read_all(upload: UploadFile) -> bytes:
    return upload.stream.read()


def multipart_body(uploads: list[UploadFile]) -> bytes:
    """What httpx would put on the wire for these uploads (no network)."""
    request = httpx.Request(
        "POST",
        "https://api.getspine.ai/v1/run",
        data={"prompt": "p"},
        files=[("files", u.as_httpx()) for u in uploads],
    )
    return request.read()


# ----------------------------------------------------------------------------- shapes


def test_str_path(csv_path: Path) -> None:
    with opened_files([str(csv_path)]) as uploads:
        (upload,) = uploads
        assert upload.filename == "sales data.csv"
        assert upload.content_type == "text/csv"
        assert upload.owned is True
        assert upload.replayable is True
        assert read_all(upload) == DATA
    assert upload.stream.closed


def test_pathlike(csv_path: Path) -> None:
    class MyPath:
        def __fspath__(self) -> str:
            return str(csv_path)

    with opened_files([csv_path, MyPath()]) as uploads:
        assert [u.filename for u in uploads] == ["sales data.csv", "sales data.csv"]
        assert all(read_all(u) == DATA for u in uploads)
    assert all(u.stream.closed for u in uploads)


def test_caller_file_object_is_never_closed(csv_path: Path) -> None:
    with open(csv_path, "rb") as handle:
        with opened_files([handle]) as uploads:
            (upload,) = uploads
            assert upload.filename == "sales data.csv"
            assert upload.content_type == "text/csv"
            assert upload.owned is False
            assert upload.replayable is True
            assert read_all(upload) == DATA
        assert not handle.closed


def test_bytesio_without_name() -> None:
    buffer = io.BytesIO(DATA)
    (upload,) = normalize_files([buffer])
    assert upload.filename == "upload.bin"
    assert upload.content_type == "application/octet-stream"
    assert upload.owned is False
    assert upload.stream is buffer


def test_file_object_with_int_name() -> None:
    with tempfile.TemporaryFile() as handle:
        handle.write(DATA)
        handle.seek(0)
        (upload,) = normalize_files([handle])
        assert upload.filename == "upload.bin"
        assert read_all(upload) == DATA


def test_file_object_with_pseudo_name() -> None:
    buffer = io.BytesIO(b"x")
    buffer.name = "<stdin>"  # type: ignore[attr-defined]
    assert normalize_files(buffer)[0].filename == "upload.bin"


@pytest.mark.parametrize(
    "content",
    [DATA, bytearray(DATA), memoryview(DATA)],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_tuple_with_bytes_like(content: Any) -> None:
    with opened_files([("report.md", content)]) as uploads:
        (upload,) = uploads
        assert upload.filename == "report.md"
        assert upload.content_type == "text/markdown"
        assert upload.owned is True
        assert read_all(upload) == DATA
    assert upload.stream.closed


def test_bytearray_is_copied() -> None:
    content = bytearray(b"before")
    (upload,) = normalize_files([("a.txt", content)])
    content[:] = b"AFTER!"
    assert read_all(upload) == b"before"


def test_memoryview_of_non_bytes() -> None:
    numbers = array.array("i", [1, 2, 3])
    (upload,) = normalize_files([("n.bin", memoryview(numbers))])
    assert read_all(upload) == numbers.tobytes()


def test_tuple_with_content_type_and_file_object() -> None:
    buffer = io.BytesIO(DATA)
    with opened_files([("data.bin", buffer, "application/x-custom")]) as uploads:
        (upload,) = uploads
        assert upload.content_type == "application/x-custom"
        assert upload.owned is False
        assert read_all(upload) == DATA
    assert not buffer.closed


def test_tuple_with_none_content_type_guesses() -> None:
    assert normalize_files([("a.png", b"x", None)])[0].content_type == "image/png"


def test_mapping() -> None:
    entries = [
        {"filename": "notes.yaml", "content": b"a: 1\n"},
        {"filename": "x.dat", "content": io.BytesIO(b"zz"), "content_type": "text/plain"},
    ]
    uploads = normalize_files(entries)
    assert [(u.filename, u.content_type, u.owned) for u in uploads] == [
        ("notes.yaml", "application/yaml", True),
        ("x.dat", "text/plain", False),
    ]
    assert [read_all(u) for u in uploads] == [b"a: 1\n", b"zz"]


def test_generator_of_entries(csv_path: Path) -> None:
    uploads = normalize_files(p for p in [csv_path, csv_path])
    assert len(uploads) == 2
    for upload in uploads:
        upload.close()


def test_none_and_empty() -> None:
    assert normalize_files(None) == []
    assert normalize_files([]) == []
    with opened_files(None) as uploads:
        assert uploads == []


# ----------------------------------------------------------------------------- single entries


def test_single_str_path_is_one_file(csv_path: Path) -> None:
    with opened_files(str(csv_path)) as uploads:
        assert [u.filename for u in uploads] == ["sales data.csv"]


def test_single_str_is_never_iterated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        normalize_files("abc.txt")
    assert "abc.txt" in str(info.value)
    (tmp_path / "a").write_bytes(b"one letter file")
    with pytest.raises(FileNotFoundError):  # not three files "a", "b", "c"
        normalize_files("abc")


def test_single_path_file_and_mapping(csv_path: Path) -> None:
    assert len(normalize_files(csv_path)) == 1
    assert len(normalize_files(io.BytesIO(b"x"))) == 1
    assert len(normalize_files({"filename": "a.txt", "content": b"x"})) == 1


def test_single_tuple_is_one_file() -> None:
    uploads = normalize_files(("report.pdf", b"%PDF-1.7"))
    assert [(u.filename, u.content_type) for u in uploads] == [("report.pdf", "application/pdf")]
    uploads = normalize_files(("r.bin", io.BytesIO(b"x"), "application/zip"))
    assert uploads[0].content_type == "application/zip"


def test_tuple_of_paths_is_several_files(csv_path: Path) -> None:
    uploads = normalize_files((str(csv_path), str(csv_path)))
    assert len(uploads) == 2
    for upload in uploads:
        upload.close()


# ----------------------------------------------------------------------------- errors


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pdf"
    with pytest.raises(FileNotFoundError) as info:
        normalize_files([missing])
    assert str(missing) in str(info.value)
    assert info.value.filename == str(missing)
    assert "files[0]" in str(info.value)


def test_directory(tmp_path: Path) -> None:
    # Not a regular file: refused before any request (issue 12), as a FIFO or a device is.
    with pytest.raises(InvalidRequestError) as info:
        normalize_files(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "a directory, not a regular file" in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_bytes(b"x")
    path.chmod(0)
    try:
        with pytest.raises(PermissionError) as info:
            normalize_files([path])
        assert str(path) in str(info.value)
    finally:
        path.chmod(0o600)


def test_permission_error_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_bytes(b"x")

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files_module, "open", denied, raising=False)
    with pytest.raises(PermissionError) as info:
        normalize_files([path])
    assert info.value.filename == str(path)
    assert "not readable" in str(info.value)


def test_text_mode_file_is_rejected(csv_path: Path) -> None:
    with open(csv_path, encoding="utf-8", errors="replace") as handle:
        with pytest.raises(TypeError, match="binary mode 'rb'"):
            normalize_files([handle])
        assert not handle.closed


def test_stringio_is_rejected() -> None:
    with pytest.raises(TypeError, match="binary mode 'rb'"):
        normalize_files([("a.txt", io.StringIO("text"))])


def test_write_only_file_is_rejected(tmp_path: Path) -> None:
    with (
        open(tmp_path / "out.bin", "wb") as handle,
        pytest.raises(TypeError, match="not open for reading"),
    ):
        normalize_files([handle])


def test_closed_file_is_rejected() -> None:
    buffer = io.BytesIO(b"x")
    buffer.close()
    with pytest.raises(ValueError, match="closed"):
        normalize_files([buffer])


@pytest.mark.parametrize(
    "entry",
    [
        42,
        3.5,
        object(),
        ["nested.txt"],
        ("only-a-name.txt",),
        ("a", "b", "c", "d"),
        ("name.txt", 123),
        (b"name.txt", b"data"),
    ],
)
def test_bad_shapes_list_the_accepted_ones(entry: Any) -> None:
    with pytest.raises(TypeError) as info:
        normalize_files([entry])
    assert ACCEPTED_SHAPES in str(info.value) or "filename must be a str" in str(info.value)


def test_bare_bytes_need_a_filename() -> None:
    with pytest.raises(TypeError, match=r"pass \(filename, data\)"):
        normalize_files([b"raw"])
    with pytest.raises(TypeError, match=r"pass \(filename, data\)"):
        normalize_files(b"raw")


def test_str_content_is_rejected() -> None:
    with pytest.raises(TypeError, match="content is a str"):
        normalize_files([("a.txt", "hello")])


def test_top_level_bad_type() -> None:
    with pytest.raises(TypeError, match="files has an unsupported type int") as info:
        normalize_files(7)  # type: ignore[arg-type]
    assert ACCEPTED_SHAPES in str(info.value)


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"filename": "a.txt"}, "needs 'filename' and 'content'"),
        ({"content": b"x"}, "needs 'filename' and 'content'"),
        ({"filename": "a", "content": b"x", "contenttype": "t"}, "unknown key"),
        ({"filename": 5, "content": b"x"}, "filename must be a str"),
    ],
)
def test_bad_mappings(entry: dict[str, Any], needle: str) -> None:
    with pytest.raises(TypeError, match=needle):
        normalize_files([entry])


@pytest.mark.parametrize(
    ("content_type", "error"),
    [(5, TypeError), ("text/plain\r\nX-Evil: 1", ValueError)],
)
def test_bad_content_type(content_type: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="content_type"):
        normalize_files([("a.txt", b"x", content_type)])


def test_empty_filename() -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_files([("dir/", b"x")])


def test_error_closes_what_was_already_opened(
    csv_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real_open = open

    def tracking_open(*args: Any, **kwargs: Any) -> Any:
        handle = real_open(*args, **kwargs)
        opened.append(handle)
        return handle

    monkeypatch.setattr(files_module, "open", tracking_open, raising=False)
    caller = io.BytesIO(b"caller")
    with pytest.raises(FileNotFoundError, match=r"files\[3\]"):
        normalize_files([csv_path, caller, ("x.txt", b"y"), tmp_path / "missing.txt"])
    assert len(opened) == 1
    assert opened[0].closed
    assert not caller.closed


# ----------------------------------------------------------------------------- ownership


def test_owned_streams_close_on_exception_and_caller_streams_do_not(csv_path: Path) -> None:
    caller = io.BytesIO(DATA)
    captured: list[UploadFile] = []
    with (  # noqa: PT012
        pytest.raises(RuntimeError, match="request failed"),
        opened_files([csv_path, caller, ("b.bin", b"bytes")]) as uploads,
    ):
        captured.extend(uploads)
        raise RuntimeError("request failed")
    assert [u.stream.closed for u in captured] == [True, False, True]
    assert not caller.closed


def test_upload_close_only_closes_owned() -> None:
    caller = io.BytesIO(b"x")
    (upload,) = normalize_files([caller])
    upload.close()
    assert not caller.closed


# ----------------------------------------------------------------------------- filenames, types


@pytest.mark.parametrize(
    ("given_name", "sent"),
    [
        ("Q1 report (final).docx", "Q1 report (final).docx"),
        ("отчёт 2026.pdf", "отчёт 2026.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/abs/dir/data.json", "data.json"),
        ("C:\\Users\\me\\slides.pptx", "slides.pptx"),
        ("  spaced  .txt", "  spaced  .txt"),
    ],
)
def test_filenames_keep_the_name_and_drop_directories(given_name: str, sent: str) -> None:
    assert normalize_files([(given_name, b"x")])[0].filename == sent


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.md", "text/markdown"),
        ("a.MD", "text/markdown"),
        ("a.yaml", "application/yaml"),
        ("a.yml", "application/yaml"),
        ("a.webp", "image/webp"),
        ("a.svg", "image/svg+xml"),
        ("a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("a.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        ("a.csv", "text/csv"),
        ("a.json", "application/json"),
        ("a.zip", "application/zip"),
        ("a.pdf", "application/pdf"),
        ("a.png", "image/png"),
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.txt", "text/plain"),
        ("a.html", "text/html"),  # from mimetypes
        ("noextension", "application/octet-stream"),
        ("a.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(name: str, content_type: str) -> None:
    assert guess_content_type(name) == content_type


# ----------------------------------------------------------------------------- streaming, replay


def test_partly_read_caller_stream_is_sent_from_its_position() -> None:
    caller = io.BytesIO(b"HEADER" + DATA)
    caller.read(6)
    (upload,) = normalize_files([("d.bin", caller)])
    assert upload.start == 6
    assert upload.replayable
    body = multipart_body([upload])
    assert DATA in body
    assert b"HEADER" not in body
    upload.rewind()
    assert read_all(upload) == DATA  # a retry re-sends every byte
    assert not caller.closed


def test_content_length_matches_the_bytes_sent(csv_path: Path) -> None:
    caller = io.BytesIO(b"skip" + DATA)
    caller.read(4)
    with opened_files([csv_path, caller, ("c.bin", b"c" * 100)]) as uploads:
        request = httpx.Request(
            "POST", "https://x/v1/run", files=[("files", u.as_httpx()) for u in uploads]
        )
        body = request.read()
        assert int(request.headers["Content-Length"]) == len(body)
        assert body.count(DATA) == 2


class Pipe(io.RawIOBase):
    """A readable, non-seekable stream (like a pipe or a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def fileno(self) -> int:  # looks like a real fd: httpx must not fstat it
        raise OSError("not a real file")


def test_non_seekable_stream() -> None:
    pipe = io.BufferedReader(Pipe(DATA))
    (upload,) = normalize_files([("pipe.bin", pipe)])
    assert upload.replayable is False
    assert upload.start is None
    with pytest.raises(io.UnsupportedOperation, match="not seekable"):
        upload.rewind()
    request = httpx.Request("POST", "https://x/v1/run", files=[("files", upload.as_httpx())])
    assert request.headers.get("Transfer-Encoding") == "chunked"
    assert DATA in request.read()
    upload.close()
    assert not pipe.closed


def test_rewind_replays_owned_streams(csv_path: Path) -> None:
    with opened_files([csv_path, ("b.bin", b"bytes")]) as uploads:
        first = [read_all(u) for u in uploads]
        for upload in uploads:
            upload.rewind()
        assert [read_all(u) for u in uploads] == first == [DATA, b"bytes"]


def test_nothing_is_read_before_sending(csv_path: Path) -> None:
    caller = io.BytesIO(DATA)
    with opened_files([csv_path, caller]) as uploads:
        assert uploads[0].stream.tell() == 0
        assert caller.tell() == 0


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=4096)
    | st.sampled_from([b"", b"+++", b"\r\n--+++\r\n", b"--boundary--\r\n\r\n"]),
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
        min_size=1,
        max_size=30,
    ),
)
def test_bytes_payloads_round_trip_exactly(payload: bytes, name: str) -> None:
    with opened_files([(name, payload)]) as uploads:
        (upload,) = uploads
        assert upload.filename == name
        assert read_all(upload) == payload
        upload.rewind()
        body = multipart_body(uploads)
        assert b"\r\n\r\n" + payload + b"\r\n--" in body


@settings(max_examples=30, deadline=None)
@given(payload=st.binary(max_size=2048), skip=st.integers(min_value=0, max_value=64))
def test_caller_streams_round_trip_from_their_position(payload: bytes, skip: int) -> None:
    caller = io.BytesIO(payload)
    caller.seek(min(skip, len(payload)))
    expected = payload[min(skip, len(payload)) :]
    (upload,) = normalize_files([("f.bin", caller)])
    assert read_all(upload) == expected
    upload.rewind()
    assert read_all(upload) == expected


@pytest.fixture
def many_paths(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(20):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(str(i).encode())
        paths.append(path)
    return paths


def test_many_files_in_order(many_paths: list[Path]) -> None:
    with opened_files(many_paths) as uploads:
        assert [read_all(u) for u in uploads] == [str(i).encode() for i in range(20)]
    assert all(u.stream.closed for u in uploads)


# ----------------------------------------------------------------------------- unbounded reads


class _SwappedOs:
    """``os`` as ``spine._files`` sees it, except that ``stat`` reports a regular file: what a
    FIFO swapped in right after the look (a race) would do."""

    def __init__(self, regular: str) -> None:
        self._regular = regular

    def stat(self, path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        return os.stat(self._regular)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@pytest.mark.skipif(os.name != "posix", reason="FIFOs")
def test_a_fifo_swapped_in_after_the_look_is_opened_without_blocking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    regular = tmp_path / "regular.txt"
    regular.write_bytes(b"x")
    monkeypatch.setattr(files_module, "os", _SwappedOs(str(regular)))
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            normalize_files([fifo])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(5)
    assert outcome, "open() of the FIFO blocked"
    assert isinstance(outcome[0], InvalidRequestError)
    assert "a FIFO (named pipe), not a regular file" in str(outcome[0])


class _Endless(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        view[:] = b"z" * len(view)
        return len(view)


def test_a_stream_of_unknown_size_is_read_up_to_its_bound() -> None:
    stream = files_module._CallerStream(_Endless(), None, limit=1000)
    assert len(stream.read(600)) == 600
    with pytest.raises(files_module.UploadTooLargeError, match="more than 1000 bytes"):
        stream.read(600)
    with pytest.raises(files_module.UploadTooLargeError):
        files_module._CallerStream(_Endless(), None, limit=10).read()


def test_a_seekable_stream_has_no_bound() -> None:
    data = b"y" * 5000
    source = io.BytesIO(data)
    source.read(10)  # partly read: sent through the view, from here
    stream = files_module._CallerStream(source, 10, limit=100)
    assert stream.read() == data[10:]


def test_the_bound_is_large() -> None:
    assert files_module.MAX_UNSIZED_UPLOAD_BYTES >= 1 << 30
    (upload,) = normalize_files([("endless.bin", _Endless())])
    assert isinstance(upload.stream, files_module._CallerStream)
    assert upload.stream._limit == files_module.MAX_UNSIZED_UPLOAD_BYTES
