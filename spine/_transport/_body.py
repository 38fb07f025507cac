"""Bounded decoding of a response body from its raw chunks (a gzip bomb is refused, never
inflated whole). Pure: no I/O, no httpx."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

__all__ = ["MAX_RESPONSE_BYTES", "BodyReader", "BodyTooLarge", "UndecodableBody"]

#: A response body larger than this is refused (the API's largest bodies are a few MiB).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


class BodyReader:
    """Collects a response body from its raw (still encoded) chunks.

    The ``Content-Encoding`` is decoded here rather than by httpx, with bounded output: a body
    that inflates past ``limit`` bytes (a gzip bomb) is refused as soon as it does, never
    inflated whole. gzip and deflate are decoded (the SDK only advertises those); any other
    coding is refused.
    """

    def __init__(self, content_encoding: str | None, limit: int = MAX_RESPONSE_BYTES) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        for coding in codings:
            if coding not in _DECODERS:
                raise UndecodableBody(f"an unsupported Content-Encoding {coding!r}")
        # Codings are listed in the order they were applied: undo them in reverse.
        self._decoders = [_Inflater(c) for c in reversed(codings)]
        self.limit = limit
        self.size = 0
        self._chunks: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        for piece in self._decode(raw, 0):
            self._add(piece)

    def finish(self) -> bytes:
        for piece in self._decode(b"", 0, final=True):
            self._add(piece)
        return b"".join(self._chunks)

    def _decode(self, data: bytes, index: int, final: bool = False) -> Iterator[bytes]:
        if index == len(self._decoders):
            if data:
                yield data
            return
        decoder = self._decoders[index]
        for piece in decoder.decompress(data):
            yield from self._decode(piece, index + 1)
        if final:
            yield from self._decode(decoder.flush(), index + 1, final=True)

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLarge
        self._chunks.append(data)


class BodyTooLarge(Exception):
    pass


class UndecodableBody(Exception):
    pass


_DECODERS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
_PIECE = 256 * 1024


class _Inflater:
    """One Content-Encoding undone in pieces of at most ``_PIECE`` bytes."""

    def __init__(self, coding: str) -> None:
        self._wbits = _DECODERS[coding]
        self._obj = zlib.decompressobj(self._wbits)
        # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate: the zlib
        # header (2 bytes) tells, so keep the first bytes until then to start over in raw mode.
        self._head = b"" if self._wbits == 15 else None

    def decompress(self, data: bytes) -> Iterator[bytes]:
        if self._head is not None:
            self._head += data
            if len(self._head) >= 2:
                head, self._head = self._head, None
                try:
                    zlib.decompressobj(15).decompress(head[:2])
                except zlib.error:
                    self._wbits = -15
                    self._obj = zlib.decompressobj(-15)
            else:
                return
            data = head
        while data:
            try:
                out = self._obj.decompress(data, _PIECE)
            except zlib.error as exc:
                raise UndecodableBody(f"a corrupt compressed body ({exc})") from exc
            data = self._obj.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        if self._head:  # fewer than 2 bytes in all: not a compressed body
            raise UndecodableBody("a truncated compressed body")
        try:
            return self._obj.flush()
        except zlib.error as exc:  # pragma: no cover - flush after a good stream does not fail
            raise UndecodableBody(f"a corrupt compressed body ({exc})") from exc
