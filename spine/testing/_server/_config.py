"""The sandbox's TOML config file and the command line's ``--fault`` shorthand.

Example ``sandbox.toml`` (every key is optional)::

    host = "127.0.0.1"
    port = 8765
    api_keys = ["sk_spine_dev"]          # default: any key starting with sk_spine_
    run_duration = 3.0                   # seconds, or "manual"
    tasks = 12                           # tasks per run
    max_file_size = "50MiB"              # or a number of bytes
    canvas_id_after_polls = 1
    artifact_ttl = 3600
    default_outcome = "completed"
    outcomes = ["failed", "partial"]     # outcomes of the next runs, in order
    estimated_duration_ms = 900000
    public_url = "http://localhost:8765"

    [[faults]]
    method = "POST"
    path = "/v1/run"
    status = 429
    retry_after = 2                      # seconds; retry_after_format = "http-date" for a date
    times = 1                            # or "forever"

    [[faults]]
    path = "/v1/run/*"
    drop = "before"                      # or "after": act on the request, then drop
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["fault_options", "load_config", "parse_fault_spec", "parse_size", "sandbox_options"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B|bytes)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3}

_TOP_KEYS = {
    "host": str,
    "port": int,
    "api_keys": list,
    "run_duration": (int, float, str),
    "tasks": int,
    "max_file_size": (int, str),
    "canvas_id_after_polls": int,
    "artifact_ttl": (int, float),
    "default_outcome": str,
    "outcomes": list,
    "estimated_duration_ms": int,
    "public_url": str,
    "request_log_limit": int,
    "faults": list,
}
_FAULT_KEYS = {
    "method": str,
    "path": str,
    "times": (int, str),
    "after": int,
    "status": int,
    "error": str,
    "body": str,
    "content_type": str,
    "headers": dict,
    "retry_after": (int, float, str),
    "retry_after_format": str,
    "delay": (int, float),
    "trickle": (int, float),
    "trickle_chunk": int,
    "drop": str,
}


def parse_size(value: int | str) -> int:
    """``52428800``, ``"50MiB"``, ``"50 MiB"`` or ``"10MB"`` → a number of bytes."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"not a size: {value!r} (use bytes, or e.g. '50MiB')")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "b").lower()])


def parse_duration(
    value: int | float | str | None, where: str = "run_duration", *, text: bool = False
) -> float | None:
    """A run duration in seconds (a number >= 0); ``"manual"`` (or None) means manual mode.

    ``where`` names the setting in errors (``--run-duration``, ``sandbox.toml: run_duration``).
    A number written as a string (``"3"``) is accepted only when ``text`` is true (a command
    line option); in a config file it has the wrong type. Raises ``ValueError``.
    """
    expected = "a number of seconds >= 0, or 'manual'"
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ("manual", "none", "off"):
            return None
        if not text:
            raise ValueError(f"{where} must be {expected}, not the string {value!r}")
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{where} must be {expected}, got {value!r}") from None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be {expected}, got {type(value).__name__}")
    else:
        seconds = float(value)
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{where} must be {expected}, got {value!r}")
    return seconds


def _check_types(table: dict[str, Any], spec: dict[str, Any], where: str) -> None:
    for key, value in table.items():
        if key not in spec:
            known = ", ".join(sorted(spec))
            raise ValueError(f"{where}: unknown key {key!r} (known keys: {known})")
        expected = spec[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ValueError(f"{where}: {key} has the wrong type ({type(value).__name__})")


def fault_options(table: dict[str, Any], where: str = "fault") -> dict[str, Any]:
    """Turn a ``[[faults]]`` table (or a parsed ``--fault``) into ``Sandbox.inject`` options."""
    _check_types(table, _FAULT_KEYS, where)
    options = dict(table)
    times = options.get("times")
    if isinstance(times, str):
        if times.lower() not in ("forever", "always", "all"):
            raise ValueError(f"{where}: times must be a number or 'forever'")
        options["times"] = None
    return options


def load_config(path: Path) -> dict[str, Any]:
    """Read a sandbox TOML file into keyword arguments for :class:`~spine.testing.Sandbox`."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if "sandbox" in data and isinstance(data["sandbox"], dict):
        # Also accept everything under a [sandbox] table.
        nested = data.pop("sandbox")
        data = {**nested, **data}
    _check_types(data, _TOP_KEYS, str(path))
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key == "run_duration":
            options[key] = parse_duration(value, f"{path}: run_duration")
        elif key == "max_file_size":
            options[key] = parse_size(value)
        elif key == "faults":
            options[key] = [
                fault_options(item, f"{path}: faults[{i}]") for i, item in enumerate(value)
            ]
        else:
            options[key] = value
    return options


def sandbox_options(
    path: Path | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    more_outcomes: Iterable[str] = (),
    more_faults: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The one way a config file becomes :class:`~spine.testing.Sandbox` keyword arguments,
    for ``Sandbox.from_config`` and ``spine sandbox --config`` alike.

    ``overrides`` replace the file's values; ``more_outcomes`` and ``more_faults`` (already
    ``Sandbox.inject`` options, e.g. from :func:`parse_fault_spec`) come after the file's.
    """
    options: dict[str, Any] = load_config(path) if path is not None else {}
    options.update(overrides or {})
    outcomes = list(more_outcomes)
    if outcomes:
        options["outcomes"] = [*options.get("outcomes", []), *outcomes]
    faults = list(more_faults)
    if faults:
        options["faults"] = [*options.get("faults", []), *faults]
    return options


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_fault_spec(spec: str) -> dict[str, Any]:
    """Parse ``--fault "POST /v1/run status=429 retry_after=2 times=1"``.

    An optional method and path pattern come first, then ``key=value`` pairs with the same
    keys as a ``[[faults]]`` table (``header.NAME=value`` adds a response header).
    """
    table: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for word in shlex.split(spec):
        if "=" in word:
            key, _, value = word.partition("=")
            if key.startswith("header."):
                headers[key[len("header."):]] = value
            elif key in ("error", "body", "content_type", "path", "method", "drop",
                         "retry_after_format"):
                table[key] = value
            else:
                table[key] = _scalar(value)
        elif word.startswith("/") or word == "*":
            table["path"] = word
        elif word.isalpha():
            table["method"] = word.upper()
        else:
            raise ValueError(f"cannot read {word!r} in fault {spec!r}")
    if headers:
        table["headers"] = headers
    return fault_options(table, f"--fault {spec!r}")
