"""Reading the ``POST /v1/run`` body: multipart/form-data streamed part by part, or urlencoded.

Uploaded files are never held in memory: each part is hashed (SHA-256) and counted as it
arrives, keeping only a short head for the canvas preview. The same pass computes a digest of
the whole request (fields and file bytes) for ``Idempotency-Key`` comparisons.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from spine.testing._server._http import BodyStream

__all__ = ["FilePart", "ParsedForm", "format_size", "read_form"]

MAX_FIELD_SIZE = 1024 * 1024
"""A text field (prompt, blocks, ...) over this size is answered with 413."""
_HEAD_SIZE = 2048
_TEXT_EXTENSIONS = frozenset({"txt", "md", "markdown", "csv", "json", "yaml", "yml", "svg"})


@dataclass
class FilePart:
    """One uploaded file, as received: never its bytes, only what can be said about them."""

    name: str
    filename: str
    content_type: str
    size: int = 0
    too_large: bool = False
    head: bytearray = field(default_factory=bytearray)
    hasher: Any = field(default_factory=hashlib.sha256, repr=False)

    @property
    def sha256(self) -> str:
        return str(self.hasher.hexdigest())

    @property
    def extension(self) -> str:
        name = self.filename
        return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""

    def preview(self) -> str:
        if self.extension not in _TEXT_EXTENSIONS:
            return ""
        text = bytes(self.head[:600]).decode("utf-8", errors="replace")
        return text if len(self.head) <= 600 else text + "…"


@dataclass
class ParsedForm:
    """The fields and files of a create request, or the error that stopped reading it."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)
    error: tuple[int, str] | None = None
    stray_file_fields: list[str] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def digest(self) -> str:
        """A digest of everything the request said: fields (order-free) and files in order."""
        material = {
            "fields": sorted((k, v) for k, values in self.fields.items() for v in values),
            "files": [(f.name, f.filename, f.size, f.sha256) for f in self.files],
        }
        return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()


def format_size(size: int) -> str:
    """``52428800`` → ``"50 MiB"`` (as in "exceeds the 50 MiB limit")."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{size} bytes"


async def read_form(body: BodyStream, content_type: str | None, max_file_size: int) -> ParsedForm:
    """Read the whole request body into a :class:`ParsedForm` (always consuming the body)."""
    mime = (content_type or "").partition(";")[0]
    mime = mime.strip().lower()
    if mime == "multipart/form-data":
        return await _read_multipart(body, content_type or "", max_file_size)
    if mime == "application/x-www-form-urlencoded" or (not mime and not content_type):
        return await _read_urlencoded(body)
    await body.drain()
    return ParsedForm(
        error=(
            400,
            f"Unsupported Content-Type: {mime}. Send multipart/form-data "
            "(or application/x-www-form-urlencoded without files)",
        )
    )


async def _read_urlencoded(body: BodyStream) -> ParsedForm:
    form = ParsedForm()
    buffer = bytearray()
    while (chunk := await body.read()) is not None:
        if form.error is None:
            buffer += chunk
            if len(buffer) > MAX_FIELD_SIZE:
                form.error = (413, f"Request body too large: over {format_size(MAX_FIELD_SIZE)}")
                buffer.clear()
    if form.error is not None:
        return form
    try:
        text = buffer.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        form.error = (400, "Malformed form body: expected UTF-8 application/x-www-form-urlencoded")
        return form
    for name, value in pairs:
        form.fields.setdefault(name, []).append(value)
    return form


class _MultipartCollector:
    def __init__(self, form: ParsedForm, max_file_size: int) -> None:
        self.form = form
        self.max_file_size = max_file_size
        self.ended = False
        self._headers: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._file: FilePart | None = None
        self._field_name: str | None = None
        self._field_value = bytearray()

    # callbacks (python-multipart calls these synchronously from parser.write)

    def on_part_begin(self) -> None:
        self._headers = {}
        self._file = None
        self._field_name = None
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_name = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("utf-8", errors="replace")
        raw_filename = options.get(b"filename")
        if raw_filename is None:
            self._field_name = name
            return
        filename = raw_filename.decode("utf-8", errors="replace")
        filename = filename.replace("\\", "/").rsplit("/", 1)[-1]
        ctype = self._headers.get("content-type", "application/octet-stream")
        self._file = FilePart(name, filename, ctype)
        if name == "files":
            self.form.files.append(self._file)
        else:
            self.form.stray_file_fields.append(name)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            part = self._file
            part.size += end - start
            if part.too_large:
                return
            if part.size > self.max_file_size:
                part.too_large = True
                return
            view = memoryview(data)[start:end]
            part.hasher.update(view)
            if len(part.head) < _HEAD_SIZE:
                part.head += view[: _HEAD_SIZE - len(part.head)]
        elif self._field_name is not None:
            if len(self._field_value) + (end - start) > MAX_FIELD_SIZE:
                if self.form.error is None:
                    self.form.error = (
                        413,
                        f"Field too large: {self._field_name} exceeds "
                        f"{format_size(MAX_FIELD_SIZE)}",
                    )
                return
            self._field_value += data[start:end]

    def on_part_end(self) -> None:
        if self._file is None and self._field_name is not None:
            value = self._field_value.decode("utf-8", errors="replace")
            self.form.fields.setdefault(self._field_name, []).append(value)
        self._file = None
        self._field_name = None

    def on_end(self) -> None:
        self.ended = True


async def _read_multipart(body: BodyStream, content_type: str, max_file_size: int) -> ParsedForm:
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    form = ParsedForm()
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        await body.drain()
        form.error = (400, "Malformed multipart body: the Content-Type has no boundary")
        return form
    collector = _MultipartCollector(form, max_file_size)
    callbacks: Any = {
        "on_part_begin": collector.on_part_begin,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
        "on_headers_finished": collector.on_headers_finished,
        "on_end": collector.on_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
    except FormParserError as exc:
        await body.drain()
        form.error = (400, f"Malformed multipart body: {exc}")
        return form
    broken: str | None = None
    while (chunk := await body.read()) is not None:
        if broken is None:
            try:
                parser.write(chunk)
            except FormParserError as exc:
                broken = str(exc) or type(exc).__name__
    if broken is None:
        try:
            parser.finalize()
        except FormParserError as exc:
            broken = str(exc) or type(exc).__name__
    if broken is None and not collector.ended:
        broken = "missing the closing boundary"
    if broken is not None:
        form.error = (400, f"Malformed multipart body: {broken}")
    return form
