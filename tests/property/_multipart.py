"""Build ``POST /v1/run`` exactly as the SDK sends it, and parse it back with a real multipart
parser (python-multipart), for the round-trip properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from python_multipart.multipart import MultipartParser, parse_options_header

from spine import _operations as ops
from spine._base_client import Settings

KEY = "sk_spine_property_0123456789"


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes
    headers: dict[str, bytes]


def settings() -> Settings:
    return Settings(
        api_key=KEY,
        base_url="https://api.example.test",
        timeout=None,
        retry_policy=None,
        http_client=None,
        allow_http=False,
    )


_HTTP = httpx.Client()  # building a request sends nothing: one client for every example
_SETTINGS = settings()


def build(op: ops.Operation[Any], http: httpx.Client | None = None) -> httpx.Request:
    """The request one attempt of ``op`` sends (what the pipeline's driver builds)."""
    request = (http or _HTTP).build_request(**_SETTINGS.request_kwargs(op, None))
    request.read()  # consume the multipart stream, as sending does
    return request


def parse(request: httpx.Request) -> list[Part]:
    """Split a multipart/form-data request into its parts with python-multipart."""
    content_type = request.headers["content-type"].encode()
    kind, params = parse_options_header(content_type)
    assert kind == b"multipart/form-data", kind
    boundary = params[b"boundary"]
    parts: list[Part] = []
    state: dict[str, Any] = {}

    def on_part_begin() -> None:
        state.update(headers={}, data=bytearray(), field=b"", value=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].decode("ascii").lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"] += data[start:end]

    def on_part_end() -> None:
        headers: dict[str, bytes] = state["headers"]
        _, disposition = parse_options_header(headers["content-disposition"])
        filename = disposition.get(b"filename")
        ctype = headers.get("content-type")
        parts.append(
            Part(
                name=disposition[b"name"].decode("utf-8"),
                filename=None if filename is None else filename.decode("utf-8"),
                content_type=None if ctype is None else ctype.decode("latin-1"),
                data=bytes(state["data"]),
                headers=headers,
            )
        )

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
        max_header_size=1 << 20,
    )
    body = request.content
    assert parser.write(body) == len(body)
    parser.finalize()
    return parts


def html5_escape(name: str) -> str:
    """How a file name travels in ``filename="..."`` (the HTML5 form encoding): a quote and the
    control characters other than ESC as %XX; everything else, unicode included, as UTF-8."""
    out = []
    for ch in name:
        if ch == '"' or (ord(ch) < 0x20 and ch != "\x1b"):
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)
