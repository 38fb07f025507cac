"""What the ledger keeps about a create request: its fields, and for each file its name, size
and SHA-256 (never its bytes), plus one fingerprint of the whole request.

The fingerprint is the SHA-256 of a canonical JSON of the fields and file hashes, so two
requests that would send the same thing have the same fingerprint. The prompt takes part in
it even when prompts are not stored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["describe_request", "fingerprint", "is_iterable", "split_files"]

_CHUNK = 1 << 20


def is_iterable(value: object) -> bool:
    """Whether ``iter(value)`` works (a str is iterable too: callers that mean a list of
    values exclude it themselves)."""
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _value(item: object) -> str:
    value = getattr(item, "value", item)
    return value if isinstance(value, str) else str(value)


def _is_single(files: object) -> bool:
    if isinstance(files, str | bytes | os.PathLike | Mapping):
        return True
    if hasattr(files, "read"):
        return True
    if isinstance(files, tuple) and len(files) in (2, 3) and isinstance(files[0], str):
        second = files[1]
        return isinstance(second, bytes | bytearray | memoryview) or hasattr(second, "read")
    return False


def _hash_stream(stream: Any) -> tuple[int | None, str | None]:
    """Size and SHA-256 of what is left in a binary stream, put back where it was; (None, None)
    when it cannot be rewound (it is then sent as it is, unhashed)."""
    try:
        if not stream.seekable():
            return None, None
        start = stream.tell()
    except (AttributeError, OSError, ValueError):
        return None, None
    digest = hashlib.sha256()
    size = 0
    try:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):  # a text stream: the SDK refuses it; do not guess
                return None, None
            digest.update(chunk)
            size += len(chunk)
    finally:
        stream.seek(start)
    return size, digest.hexdigest()


def _hash_path(path: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _describe_file(entry: Any) -> dict[str, Any]:
    """``{"name", "size", "sha256", "path"}`` of one file input (``path`` only for paths)."""
    if isinstance(entry, str | os.PathLike):
        path = os.path.abspath(os.fspath(entry))
        length, digest = _hash_path(path)  # a missing file raises here, before it is recorded
        return {"name": os.path.basename(path), "size": length, "sha256": digest, "path": path}
    if isinstance(entry, Mapping):
        name = entry.get("filename")
        content = entry.get("content")
    elif isinstance(entry, tuple) and len(entry) >= 2:
        name, content = entry[0], entry[1]
    elif hasattr(entry, "read"):
        raw = getattr(entry, "name", None)
        name = os.path.basename(raw) if isinstance(raw, str) else "upload.bin"
        content = entry
    else:
        return {"name": None, "size": None, "sha256": None, "path": None}
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        return {
            "name": name if isinstance(name, str) else None,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "path": None,
        }
    hashed: tuple[int | None, str | None] = (
        _hash_stream(content) if hasattr(content, "read") else (None, None)
    )
    size, sha = hashed
    return {"name": name if isinstance(name, str) else None, "size": size, "sha256": sha,
            "path": None}


def split_files(files: object) -> list[Any] | None:
    """The file inputs of a create as a list (one input, or an iterable of them), so that an
    iterator is read once: describe the list, then send the same list."""
    if files is None:
        return None
    if _is_single(files):
        return [files]
    if isinstance(files, Iterable):
        return list(files)
    return [files]  # not a file input at all: the SDK explains what it takes


def describe_files(files: list[Any] | None) -> list[dict[str, Any]]:
    """Describe every file input of a create (the shapes ``runs.create(files=...)`` takes)."""
    return [_describe_file(entry) for entry in files or []]


def describe_request(
    prompt: str,
    *,
    template: object,
    blocks: Iterable[object] | None,
    agent_instructions: str | None,
    webhook_url: str | None,
    files: list[Any] | None,
) -> tuple[dict[str, Any], str]:
    """The request as the ledger records it, and its fingerprint."""
    request: dict[str, Any] = {
        "prompt": prompt,
        "template": _value(template),
        "blocks": [_value(b) for b in blocks] if blocks is not None else None,
        "agent_instructions": agent_instructions,
        "webhook_url": webhook_url,
        "files": describe_files(files),
    }
    return request, fingerprint(request)


def fingerprint(request: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a described request (file paths left out: the
    same bytes from another folder are the same request)."""
    canonical = {
        key: request.get(key)
        for key in ("prompt", "template", "blocks", "agent_instructions", "webhook_url")
    }
    canonical["files"] = [
        [f.get("name"), f.get("size"), f.get("sha256")] for f in request.get("files") or []
    ]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
