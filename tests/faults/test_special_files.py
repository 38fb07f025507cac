"""An upload never reads without bound: a path (or a caller's file object) that is not a regular
file is refused before any request, and quickly; ``open()`` of a FIFO never blocks.

Every call runs under a watchdog: a regression that blocks fails the test instead of hanging
the suite."""

from __future__ import annotations

import errno
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

from .conftest import KEY, Api

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and sockets: POSIX")


def _within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()``, failing the test if it takes longer than ``seconds`` (it is left behind)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("ok", fn()))
        except BaseException as exc:
            outcome.append(("raised", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"blocked for more than {seconds} s"
    kind, value = outcome[0]
    if kind == "raised":
        raise value
    return value


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "named.pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sp")) / "s.sock"  # short: AF_UNIX paths are limited
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        yield path
    path.unlink(missing_ok=True)


def _no_reader_left(path: Path) -> bool:
    """True when nobody holds the FIFO open for reading (a non-blocking writer gets ENXIO)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        return exc.errno == errno.ENXIO
    os.close(fd)
    return False


def _paths(tmp_path: Path, fifo: Path, unix_socket: Path) -> dict[str, Path]:
    link_to_fifo = tmp_path / "looks-like.pdf"
    link_to_fifo.symlink_to(fifo)
    link_to_zero = tmp_path / "zero.bin"
    link_to_zero.symlink_to("/dev/zero")
    return {
        "fifo": fifo,  # the example
        "directory": tmp_path,
        "dev-zero": Path("/dev/zero"),
        "dev-null": Path("/dev/null"),
        "dev-urandom": Path("/dev/urandom"),
        "unix-socket": unix_socket,
        "symlink-to-fifo": link_to_fifo,
        "symlink-to-dev-zero": link_to_zero,
    }


KINDS = [
    "fifo",
    "directory",
    "dev-zero",
    "dev-null",
    "dev-urandom",
    "unix-socket",
    "symlink-to-fifo",
    "symlink-to-dev-zero",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", ["str", "Path", "list"])
def test_a_path_that_is_not_a_regular_file_is_refused_before_any_request(
    api: Api,
    sandbox: Sandbox,
    tmp_path: Path,
    fifo: Path,
    unix_socket: Path,
    kind: str,
    shape: str,
) -> None:
    path = _paths(tmp_path, fifo, unix_socket)[kind]
    files: Any = {"str": str(path), "Path": path, "list": [path]}[shape]
    client = api.client(base_url=sandbox.url)
    with pytest.raises(spine.InvalidRequestError, match="not a regular file") as info:
        _within(5, lambda: api.call(client.runs.create, "upload", files=files))
    assert isinstance(info.value, ValueError) and info.value.request_id is None
    assert str(path) in str(info.value)
    assert sandbox.requests == []
    assert _no_reader_left(fifo), "the FIFO was never opened (a blocked writer stays blocked)"


def test_a_fifo_with_a_waiting_writer_is_not_opened(api: Api, sandbox: Sandbox, fifo: Path) -> None:
    # A writer blocked in open() would be released (and then see a broken pipe) if the SDK
    # opened the FIFO to look at it.
    released = threading.Event()

    def writer() -> None:
        try:
            with open(fifo, "wb") as fh:  # blocks until a reader opens the FIFO
                released.set()
                fh.write(b"x")
        except OSError:
            released.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    client = api.client(base_url=sandbox.url)
    with pytest.raises(spine.InvalidRequestError):
        _within(5, lambda: api.call(client.runs.create, "upload", files=[fifo]))
    assert not released.wait(0.2)
    # Unblock the writer ourselves before the test ends.
    with open(fifo, "rb") as reader:
        reader.read()
    thread.join(5)


def _caller_objects(fifo: Path, stack: list[Any]) -> dict[str, Callable[[], Any]]:
    def fifo_with_writer() -> Any:
        threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True).start()
        fh = open(fifo, "rb")  # noqa: SIM115 - closed by the test
        stack.append(fh)
        return fh

    def os_pipe() -> Any:
        read_fd, write_fd = os.pipe()
        stack.append(os.fdopen(write_fd, "wb"))
        fh = os.fdopen(read_fd, "rb")
        stack.append(fh)
        return fh

    def socket_file() -> Any:
        left, right = socket.socketpair()
        stack.extend([left, right])
        fh = left.makefile("rb")
        stack.append(fh)
        return fh

    def dev_zero() -> Any:
        fh = open("/dev/zero", "rb")  # noqa: SIM115 - closed by the test
        stack.append(fh)
        return fh

    def raw_fd() -> Any:
        fh = io.FileIO(os.open("/dev/zero", os.O_RDONLY), "rb")
        stack.append(fh)
        return fh

    return {
        "fifo": fifo_with_writer,
        "os-pipe": os_pipe,
        "socket-makefile": socket_file,
        "dev-zero": dev_zero,
        "raw-FileIO-on-dev-zero": raw_fd,
    }


@pytest.mark.parametrize(
    "kind", ["fifo", "os-pipe", "socket-makefile", "dev-zero", "raw-FileIO-on-dev-zero"]
)
@pytest.mark.parametrize("shape", ["object", "tuple", "mapping"])
def test_a_caller_file_object_that_is_not_a_regular_file_is_refused(
    api: Api, sandbox: Sandbox, fifo: Path, kind: str, shape: str
) -> None:
    stack: list[Any] = []
    try:
        fh = _caller_objects(fifo, stack)[kind]()
        entry = {
            "object": fh,
            "tuple": ("data.bin", fh),
            "mapping": {"filename": "data.bin", "content": fh},
        }[shape]
        client = api.client(base_url=sandbox.url)
        with pytest.raises(spine.InvalidRequestError, match="not a regular file"):
            _within(5, lambda: api.call(client.runs.create, "upload", files=[entry]))
        assert not fh.closed, "a caller's file is never closed by the SDK"
        assert sandbox.requests == []
    finally:
        for item in reversed(stack):
            item.close()


def test_regular_files_and_memory_streams_still_upload(
    api: Api, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    spooled = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - closed below
    spooled.write(b"in memory")
    spooled.seek(0)
    client = api.client(base_url=sandbox.url)
    with open(path, "rb") as fh:
        handle = api.call(
            client.runs.create,
            "upload",
            files=[path, str(path), fh, ("m.txt", io.BytesIO(b"m")), ("s.txt", spooled)],
        )
    spooled.close()
    assert len(sandbox.uploads(handle.run_id)) == 5


def test_the_cli_refuses_a_fifo_with_exit_2(fifo: Path, sandbox: Sandbox) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_")}
    env.update(SPINE_API_KEY=KEY, SPINE_BASE_URL=sandbox.url)
    for path in (str(fifo), "/dev/zero"):
        proc = subprocess.run(
            [sys.executable, "-m", "spine", "run", "x", "--file", path, "--no-wait"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 2, proc.stderr
        assert "not a regular file" in proc.stderr
    assert sandbox.requests == []
