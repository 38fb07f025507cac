"""Normalisation of the ``files=`` argument of ``runs.create`` into upload streams.

Accepted, per entry (reference §9.6 and DESIGN.md "Files"):

* a path, as ``str`` or ``os.PathLike`` (``pathlib.Path``): opened here, in binary mode, and
  closed here;
* an open binary file object (``open(path, "rb")``, ``io.BytesIO``...): its name is the basename
  of ``.name``, else ``upload.bin``; never closed here;
* a tuple ``(filename, content)`` or ``(filename, content, content_type)``, where content is
  ``bytes``, ``bytearray``, ``memoryview`` or a binary file object;
* a mapping ``{"filename": ..., "content": ..., "content_type": ... (optional)}``.

``files`` is a list (any iterable) of entries, or one path, file object or mapping on its own; a
bare ``str`` is always one path, never a sequence of characters. Problems are reported before any
request is sent: a missing path raises :class:`FileNotFoundError`, an unreadable file
:class:`PermissionError` (each naming the path), a text-mode file or any other shape
:class:`TypeError` listing the accepted shapes.

No upload reads without bound. A path must name a regular file: a directory, a FIFO (named pipe),
a character or block device (``/dev/zero``, a terminal) or a socket raises
:class:`~spine.InvalidRequestError` before any request. The path is looked at (``stat``) before
it is opened, and opened without blocking (``O_NONBLOCK``) and looked at again, so a FIFO swapped
in between cannot hold ``open()`` forever. A file object whose descriptor is not a regular file
(``open("/dev/zero", "rb")``, a pipe, a socket's ``makefile``) is refused the same way: read it
yourself and pass ``(filename, data)``. A file object without a descriptor whose size cannot be
known (it cannot seek) is read up to :data:`MAX_UNSIZED_UPLOAD_BYTES` (ours, not a documented
Spine limit); past that the upload stops with an error.

Nothing is read into memory: each :class:`UploadFile` holds a stream that the HTTP layer reads in
chunks. A caller's stream is sent from the position it was at when normalised; when it is
seekable, :meth:`UploadFile.rewind` goes back there so that a retry re-sends every byte.
"""

from __future__ import annotations

import contextlib
import errno
import io
import mimetypes
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, TypeAlias, cast

from spine._exceptions import InvalidRequestError
from spine._log import logger

__all__ = [
    "ACCEPTED_SHAPES",
    "DEFAULT_FILENAME",
    "MAX_UNSIZED_UPLOAD_BYTES",
    "FileContent",
    "FileInput",
    "FilesArgument",
    "UploadChangedError",
    "UploadFile",
    "UploadTooLargeError",
    "check_upload_path",
    "close_uploads",
    "guess_content_type",
    "normalize_files",
    "opened_files",
]

DEFAULT_FILENAME = "upload.bin"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: The most bytes read from a caller's stream whose size cannot be known beforehand (one that
#: cannot seek and has no file descriptor). Our bound, not a documented Spine limit: it stops a
#: stream that never ends from uploading forever.
MAX_UNSIZED_UPLOAD_BYTES = 4 * 1024**3


class UploadTooLargeError(ValueError):
    """A stream of unknown size gave more than its bound while it was being sent."""


class UploadChangedError(ValueError):
    """A file gave more or fewer bytes while it was being sent than when the request was
    sized (its ``Content-Length``): it changed on disk, or its caller wrote to it. The
    upload is stopped before a byte beyond the declared length leaves, so the server never
    receives a whole body (we take it that no server acts on such a create: Spine does not
    document incomplete requests)."""

    #: Its row of the outcome table (``spine._retry.OUTCOMES``).
    outcome_kind = "upload_changed"

ACCEPTED_SHAPES = (
    "a path (str or os.PathLike); an open binary file object (open(path, 'rb'), io.BytesIO);"
    " (filename, content) or (filename, content, content_type) with content bytes, bytearray,"
    " memoryview or a binary file object; or a mapping {'filename': ..., 'content': ...,"
    " 'content_type': ... (optional)}"
)

#: The content of a ``(filename, content)`` entry.
FileContent: TypeAlias = bytes | bytearray | memoryview | BinaryIO | IO[bytes]
#: One entry of ``files=`` (see the module documentation).
FileInput: TypeAlias = (
    str
    | os.PathLike[str]
    | BinaryIO
    | IO[bytes]
    | tuple[str, FileContent]
    | tuple[str, FileContent, str | None]
    | Mapping[str, Any]
)
#: The ``files=`` argument: a list of entries, one entry, or None.
FilesArgument: TypeAlias = Iterable[FileInput] | FileInput | None

# The formats the Spine docs list, mapped the same way on every platform (mimetypes depends on
# the system's tables, some of which lack .md, .yaml, .webp or the Office formats).
_CONTENT_TYPES: dict[str, str] = {
    ".csv": "text/csv",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".json": "application/json",
    ".markdown": "text/markdown",
    ".md": "text/markdown",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".webp": "image/webp",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".zip": "application/zip",
}

_MAPPING_KEYS = frozenset({"filename", "content", "content_type"})


def guess_content_type(filename: str) -> str:
    """The content type for ``filename``: the docs' formats first, then :mod:`mimetypes`."""
    _, ext = os.path.splitext(filename)
    known = _CONTENT_TYPES.get(ext.lower())
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


class _CallerStream(io.BufferedIOBase):
    """A read-only view of a file's stream that starts at the position it was given at.

    httpx seeks a file to 0 before sending it and sizes it with ``fstat``; this view makes both
    mean "from where the caller left it" and hides ``fileno()`` so that a pipe or a partly-read
    file is never mis-sized. The size httpx reads (``seek(0, SEEK_END)``) is the size the view
    then holds the reads to: a file that shrinks or grows while it is sent raises
    :class:`UploadChangedError` naming it, before a byte beyond that size is handed over.
    Closing the view closes the underlying stream only when the SDK opened it (``owned``).
    """

    def __init__(
        self,
        raw: Any,
        start: int | None,
        limit: int = MAX_UNSIZED_UPLOAD_BYTES,
        *,
        what: str | None = None,
        owned: bool = False,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._start = start
        self._limit = limit if start is None else None  # a seekable stream has a known end
        self._read = 0
        self._owned = owned
        #: The size httpx declared (None until it asks); the view's own position.
        self._declared: int | None = None
        self._position = 0
        self.name = getattr(raw, "name", DEFAULT_FILENAME)
        self._what = what or repr(self.name)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._start is not None

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = -1 if self._limit is None else self._limit - self._read + 1
        data = self._raw.read(size)
        data = b"" if data is None else bytes(data)
        self._read += len(data)
        if self._limit is not None and self._read > self._limit:
            raise UploadTooLargeError(
                f"the upload stream {self.name!r} gave more than {self._limit} bytes and cannot"
                " be sized beforehand; the upload was stopped"
            )
        declared = self._declared
        if declared is not None and size != 0:
            ends = self._position + len(data)
            if ends > declared or (not data and self._position < declared):
                now = "more than that" if data else f"{self._position} bytes"
                raise UploadChangedError(
                    f"{self._what} changed size while it was being sent: {declared} bytes to"
                    f" send when the request was sized, {now} now. The upload was stopped"
                    " before the request was whole (the API never received a complete create);"
                    " send it again once the file no longer changes."
                )
            self._position = ends
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._start is None:
            raise io.UnsupportedOperation("this upload stream is not seekable")
        if whence == io.SEEK_SET:
            if offset < 0:
                raise ValueError(f"negative seek position {offset}")
            position = self._raw.seek(self._start + offset, io.SEEK_SET)
        else:
            position = self._raw.seek(offset, whence)
        self._position = int(position) - self._start
        if whence == io.SEEK_END and offset == 0:
            # A caller's file left past its end has nothing to send, not a negative size.
            self._position = max(self._position, 0)
            self._declared = self._position  # the size a Content-Length is built from
        return self._position

    def tell(self) -> int:
        if self._start is None:
            raise io.UnsupportedOperation("this upload stream is not seekable")
        return int(self._raw.tell()) - self._start

    def close(self) -> None:
        # A caller's stream stays open: only this view closes (and what the SDK opened).
        super().close()
        if self._owned:
            self._raw.close()


@dataclass
class UploadFile:
    """One file part of ``POST /v1/run``, ready to stream.

    Attributes:
        filename: the name sent to the server (no directory part).
        stream: a binary stream positioned at the first byte to send.
        content_type: the part's content type.
        owned: True when the SDK opened the stream (a path, or bytes) and must close it.
        replayable: True when the stream can go back to its start, so a retry sends it again.
        start: the caller's stream position when normalised (0 for streams the SDK opened).
    """

    filename: str
    stream: BinaryIO
    content_type: str
    owned: bool
    replayable: bool
    start: int | None = 0

    def rewind(self) -> None:
        """Go back to the first byte to send (before a retry); fails when not replayable."""
        if not self.replayable:
            raise io.UnsupportedOperation(
                f"cannot send {self.filename!r} again: its stream is not seekable"
            )
        self.stream.seek(0)

    def close(self) -> None:
        """Close the stream if the SDK owns it; a caller's stream is left open."""
        if self.owned:
            self.stream.close()

    def as_httpx(self) -> tuple[str, BinaryIO, str]:
        """The ``(filename, stream, content_type)`` tuple httpx's ``files=`` takes."""
        return (self.filename, self.stream, self.content_type)


# ----------------------------------------------------------------------------- helpers


def _basename(name: str) -> str:
    """The last path component, for both / and \\ separators (a server may be either), as
    text that UTF-8 can carry.

    A name that is not valid Unicode (a file on disk whose name is not UTF-8 comes back from
    ``os.fsdecode`` with surrogate escapes, and a caller's str may hold lone surrogates) has
    those characters replaced by U+FFFD: the file is still sent, under a readable name, instead
    of failing deep in the HTTP layer.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    try:
        base.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = base.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = base.encode("utf-8", "replace")
        base = raw.decode("utf-8", "replace")
    return base


def _is_file_object(value: object) -> bool:
    return callable(getattr(value, "read", None))


def _is_bytes_like(value: object) -> bool:
    return isinstance(value, bytes | bytearray | memoryview)


def _shape_error(where: str, value: object, extra: str = "") -> TypeError:
    detail = f" {extra}" if extra else ""
    return TypeError(
        f"{where} has an unsupported type {type(value).__name__}.{detail}"
        f" Accepted: {ACCEPTED_SHAPES}."
    )


def _name_of(fileobj: object) -> str:
    name = getattr(fileobj, "name", None)
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str):
        return DEFAULT_FILENAME  # e.g. an int file descriptor, or no name at all
    base = _basename(name)
    if not base or (base.startswith("<") and base.endswith(">")):  # "<stdin>" and the like
        return DEFAULT_FILENAME
    return base


def _check_filename(where: str, filename: object) -> str:
    if not isinstance(filename, str):
        raise TypeError(
            f"{where}: the filename must be a str, got {type(filename).__name__}."
            f" Accepted: {ACCEPTED_SHAPES}."
        )
    base = _basename(filename)
    if not base:
        raise InvalidRequestError(f"{where}: the filename {filename!r} is empty")
    return base


def _check_content_type(where: str, content_type: object, filename: str) -> str:
    if content_type is None:
        return guess_content_type(filename)
    if not isinstance(content_type, str):
        raise TypeError(f"{where}: content_type must be a str, got {type(content_type).__name__}")
    value = content_type.strip()
    if not value:
        return guess_content_type(filename)
    if "\r" in value or "\n" in value:
        raise InvalidRequestError(f"{where}: content_type must not contain line breaks")
    if not all(" " <= c <= "~" or c == "\t" for c in value):
        raise InvalidRequestError(
            f"{where}: content_type must be printable ASCII (such as 'application/pdf'),"
            f" got {value!r}"
        )
    return value


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(where: str, what: str, mode: int) -> InvalidRequestError | None:
    """The error for something that is not a regular file (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return InvalidRequestError(
        f"{where}: {what} is {kind}, not a regular file: an upload from it might never end,"
        " so it is refused. Upload a regular file, or read the data first and pass"
        " (filename, data)."
    )


def _naming(where: str, path: str, exc: OSError) -> OSError:
    """``exc`` again, saying which upload (``where``) and which ``path`` it is about."""
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(errno.ENOENT, f"{where}: file to upload not found", path)
    if isinstance(exc, PermissionError):
        return PermissionError(
            errno.EACCES, f"{where}: file to upload is not readable (permission denied)", path
        )
    return type(exc)(exc.errno, f"{where}: {exc.strerror}", path)


def check_upload_path(where: str, path: str) -> os.stat_result:
    """Look at a path before opening it: it must exist, and be a regular file (following
    symbolic links). Raises ``FileNotFoundError``, ``PermissionError``, another ``OSError``
    (each naming the path), or :class:`InvalidRequestError` for anything else."""
    try:
        info = os.stat(path)
    except OSError as exc:  # also a path through a file, a loop of links, a name too long...
        raise _naming(where, path, exc) from exc
    error = _not_regular(where, repr(path), info.st_mode)
    if error is not None:
        raise error
    return info


def _descriptor(fileobj: Any) -> int | None:
    """The OS file descriptor behind a caller's file object, or None (BytesIO, custom streams).
    A spooled temporary file is never asked: asking it would move it to disk."""
    if isinstance(fileobj, tempfile.SpooledTemporaryFile):
        return None
    fileno = getattr(fileobj, "fileno", None)
    if not callable(fileno):
        return None
    try:
        fd = fileno()
    except (OSError, ValueError, AttributeError, TypeError):  # io.UnsupportedOperation included
        return None
    return fd if isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0 else None


def _wrap_caller_stream(
    where: str, fileobj: Any, filename: str | None = None
) -> tuple[BinaryIO, bool, int | None]:
    """Check a caller's file object; return the stream to send, replayable, start position."""
    if isinstance(fileobj, io.TextIOBase) or (
        isinstance(getattr(fileobj, "mode", None), str) and "b" not in fileobj.mode
    ):
        raise TypeError(
            f"{where} is a text-mode file: open the file in binary mode 'rb'"
            " (files are sent byte for byte)."
        )
    if getattr(fileobj, "closed", False) is True:
        raise InvalidRequestError(f"{where} is a closed file")
    readable = getattr(fileobj, "readable", None)
    if callable(readable):
        try:
            is_readable = readable()
        except (OSError, ValueError):
            is_readable = False
        if not is_readable:
            raise TypeError(f"{where} is a file object that is not open for reading")
    fd = _descriptor(fileobj)
    if fd is not None:
        try:
            mode: int | None = os.fstat(fd).st_mode
        except OSError:
            mode = None
        error = None if mode is None else _not_regular(where, "a file object that reads", mode)
        if error is not None:
            raise error

    start: int | None = None
    seekable = getattr(fileobj, "seekable", None)
    try:
        if callable(seekable) and seekable():
            start = int(fileobj.tell())
    except (OSError, ValueError, AttributeError, TypeError):
        start = None

    spooled = isinstance(fileobj, tempfile.SpooledTemporaryFile)  # fileno() moves it to disk
    if start == 0 and fd is None and not spooled:
        return cast(BinaryIO, fileobj), True, 0  # an in-memory stream, sent as it is
    # A file (whose size can change on disk), partly read, or not seekable (a pipe): sent
    # through a view from the current position, sized from there and held to that size.
    view = _CallerStream(fileobj, start, what=f"{where} ({(filename or _name_of(fileobj))!r})")
    return cast(BinaryIO, view), start is not None, start


def _open_path(where: str, path: object) -> UploadFile:
    text = os.fsdecode(os.fspath(cast(Any, path)))
    check_upload_path(where, text)
    # Opened without blocking: if a FIFO took the file's place since the stat, open() still
    # returns at once, and the second look refuses it.
    nonblock = getattr(os, "O_NONBLOCK", 0)

    def opener(name: str, flags: int) -> int:
        return os.open(name, flags | nonblock | getattr(os, "O_CLOEXEC", 0))

    try:
        stream = open(text, "rb", opener=opener)  # noqa: SIM115 - closed by close_uploads()
    except (FileNotFoundError, PermissionError) as exc:
        raise _naming(where, text, exc) from exc
    try:
        error = _not_regular(where, repr(text), os.fstat(stream.fileno()).st_mode)
        if error is not None:
            raise error
        if nonblock:
            os.set_blocking(stream.fileno(), True)
    except BaseException:
        stream.close()
        raise
    filename = _basename(text) or DEFAULT_FILENAME
    view = _CallerStream(stream, 0, what=f"{where} ({text!r})", owned=True)
    return UploadFile(
        filename=filename,
        stream=cast(BinaryIO, view),
        content_type=guess_content_type(filename),
        owned=True,
        replayable=True,
        start=0,
    )


def _from_content(where: str, filename: str, content: object, content_type: object) -> UploadFile:
    ctype = _check_content_type(where, content_type, filename)
    if _is_bytes_like(content):
        data = content if isinstance(content, bytes) else bytes(cast(Any, content))
        # BytesIO over an immutable bytes object shares its buffer: no copy of the payload.
        return UploadFile(filename, io.BytesIO(data), ctype, owned=True, replayable=True, start=0)
    if isinstance(content, str):
        raise TypeError(
            f"{where}: the content is a str. Pass bytes (text.encode()) or a file opened in"
            " binary mode 'rb'; to upload a file by path, pass the path as the entry itself."
        )
    if _is_file_object(content):
        stream, replayable, start = _wrap_caller_stream(where, content, filename)
        return UploadFile(filename, stream, ctype, owned=False, replayable=replayable, start=start)
    raise _shape_error(f"{where}: the content", content)


def _normalize_one(where: str, entry: object) -> UploadFile:
    if isinstance(entry, str | os.PathLike):
        return _open_path(where, entry)
    if _is_bytes_like(entry):
        raise _shape_error(where, entry, "Bytes need a filename: pass (filename, data).")
    if isinstance(entry, tuple):
        if len(entry) not in (2, 3):
            raise _shape_error(where, entry, f"A tuple needs 2 or 3 items, got {len(entry)}.")
        filename = _check_filename(where, entry[0])
        content_type = entry[2] if len(entry) == 3 else None
        return _from_content(where, filename, entry[1], content_type)
    if isinstance(entry, Mapping):
        unknown = set(entry) - _MAPPING_KEYS
        if unknown:
            raise TypeError(
                f"{where}: unknown key(s) {sorted(map(str, unknown))} in a file mapping;"
                " the keys are 'filename', 'content' and optionally 'content_type'."
            )
        if "filename" not in entry or "content" not in entry:
            raise TypeError(
                f"{where}: a file mapping needs 'filename' and 'content'. Accepted:"
                f" {ACCEPTED_SHAPES}."
            )
        filename = _check_filename(where, entry["filename"])
        return _from_content(where, filename, entry["content"], entry.get("content_type"))
    if _is_file_object(entry):
        stream, replayable, start = _wrap_caller_stream(where, entry)
        filename = _name_of(entry)
        return UploadFile(
            filename,
            stream,
            guess_content_type(filename),
            owned=False,
            replayable=replayable,
            start=start,
        )
    raise _shape_error(where, entry)


def _is_single_tuple(value: tuple[Any, ...]) -> bool:
    """``files=("a.pdf", data)``: one (filename, content[, type]) entry, not two entries."""
    if len(value) not in (2, 3) or not isinstance(value[0], str):
        return False
    if not (_is_bytes_like(value[1]) or _is_file_object(value[1])):
        return False
    return len(value) == 2 or value[2] is None or isinstance(value[2], str)


def _entries(files: object) -> list[object]:
    if files is None:
        return []
    if isinstance(files, str | bytes | os.PathLike | Mapping) or _is_file_object(files):
        return [files]
    if isinstance(files, tuple) and _is_single_tuple(files):
        return [files]
    if isinstance(files, Iterable) and not _is_bytes_like(files):
        return list(files)
    raise TypeError(
        f"files has an unsupported type {type(files).__name__}: pass a list of files, or one"
        f" file. Accepted per file: {ACCEPTED_SHAPES}."
    )


def normalize_files(files: FilesArgument) -> list[UploadFile]:
    """Turn ``files=`` into upload streams; on any error, close what was already opened."""
    uploads: list[UploadFile] = []
    try:
        entries = _entries(files)
        single = len(entries) == 1 and entries[0] is files
        for index, entry in enumerate(entries):
            where = "files" if single else f"files[{index}]"
            uploads.append(_normalize_one(where, entry))
    except FileNotFoundError as exc:
        close_uploads(uploads)
        if _looks_like_named_text(files):
            # ("notes.txt", "some text") is two paths; the caller most likely meant one file.
            raise FileNotFoundError(
                exc.errno,
                f"{exc.strerror} (a tuple of str is a tuple of paths; to send text as a file,"
                " pass (filename, text.encode()))",
                exc.filename,
            ) from None
        raise
    except BaseException:
        close_uploads(uploads)
        raise
    return uploads


def _looks_like_named_text(files: object) -> bool:
    return (
        isinstance(files, tuple)
        and len(files) in (2, 3)
        and all(isinstance(item, str) for item in files[:2])
    )


def close_uploads(uploads: Iterable[UploadFile]) -> None:
    """Close the streams the SDK owns; a caller's streams are left open."""
    for upload in uploads:
        try:
            upload.close()
        except Exception as exc:  # keep closing the others
            logger.debug("could not close upload %r: %s", upload.filename, exc)


@contextlib.contextmanager
def opened_files(files: FilesArgument) -> Iterator[list[UploadFile]]:
    """Normalise ``files`` for the duration of a request; close the owned streams on exit,
    including when the block raises. Caller-opened files are never closed."""
    uploads = normalize_files(files)
    try:
        yield uploads
    finally:
        close_uploads(uploads)
