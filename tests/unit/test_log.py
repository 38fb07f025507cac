"""The ``spine`` logger, SPINE_LOG, and secret redaction."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from spine._log import configure_logging_from_env, logger
from spine._redact import mask_secret, redact, redact_headers

KEY = "sk_spine_live_0123456789abcdefWXYZ"


@pytest.fixture
def clean_logger() -> Iterator[logging.Logger]:
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def env_handlers() -> list[logging.Handler]:
    return [h for h in logger.handlers if getattr(h, "_spine_env_handler", False)]


def test_logger_is_quiet_by_default() -> None:
    assert logger.name == "spine"
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)


@pytest.mark.parametrize(
    ("value", "level"),
    [("debug", logging.DEBUG), ("DEBUG", logging.DEBUG), (" Info ", logging.INFO)],
)
def test_spine_log_turns_logging_on(clean_logger: logging.Logger, value: str, level: int) -> None:
    assert configure_logging_from_env({"SPINE_LOG": value}) == level
    assert clean_logger.level == level
    handlers = env_handlers()
    assert len(handlers) == 1
    assert isinstance(handlers[0], logging.StreamHandler)
    assert handlers[0].stream is sys.stderr


@pytest.mark.parametrize(
    "env", [{}, {"SPINE_LOG": ""}, {"SPINE_LOG": "verbose"}, {"SPINE_LOG": "1"}]
)
def test_other_values_change_nothing(clean_logger: logging.Logger, env: dict[str, str]) -> None:
    before = (list(clean_logger.handlers), clean_logger.level)
    assert configure_logging_from_env(env) is None
    assert (list(clean_logger.handlers), clean_logger.level) == before


def test_configure_is_idempotent(clean_logger: logging.Logger) -> None:
    configure_logging_from_env({"SPINE_LOG": "info"})
    configure_logging_from_env({"SPINE_LOG": "info"})
    configure_logging_from_env({"SPINE_LOG": "debug"})
    assert len(env_handlers()) == 1
    assert clean_logger.level == logging.DEBUG


def test_reads_os_environ(clean_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_LOG", "info")
    assert configure_logging_from_env() == logging.INFO


def test_mask_secret() -> None:
    assert mask_secret(KEY) == "sk_spine_\u2026WXYZ"
    assert mask_secret("sk_spine_abcdefgh") == "sk_spine_\u2026gh"
    assert mask_secret("sk_spine_abc") == "sk_spine_\u2026"
    assert mask_secret("whsec_0123456789abcdef") == "whsec_\u2026cdef"
    assert mask_secret("plainsecretvalue") == "\u2026alue"
    assert mask_secret("") == "\u2026"


def test_redact_masks_every_key_in_text() -> None:
    text = f'headers={{"X-API-KEY": "{KEY}"}} retry with {KEY}, secret=whsec_abcdefghijklmnop'
    out = redact(text)
    assert KEY not in out
    assert "whsec_abcdefghijklmnop" not in out
    assert out.count("sk_spine_\u2026WXYZ") == 2
    assert "whsec_\u2026mnop" in out


def test_redact_leaves_other_text_alone() -> None:
    assert redact("Run not found: 550e8400") == "Run not found: 550e8400"
    assert redact(404) == "404"


def test_redact_is_idempotent() -> None:
    once = redact(f"key {KEY}")
    assert redact(once) == once


def test_redact_headers() -> None:
    headers = {
        "x-api-key": KEY,
        "Authorization": "Bearer abcdefghijkl",
        "User-Agent": "spine-python/0.1.0",
        "X-Echo": f"value {KEY}",
    }
    out = redact_headers(headers)
    assert out["x-api-key"] == "sk_spine_\u2026WXYZ"
    assert "abcdefghijkl" not in out["Authorization"]
    assert out["User-Agent"] == "spine-python/0.1.0"
    assert KEY not in out["X-Echo"]
    assert headers["x-api-key"] == KEY  # the input is not modified
