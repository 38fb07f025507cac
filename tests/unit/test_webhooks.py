"""Webhook verification with real HMAC-SHA256 signatures."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import given, strategies as st

from spine._exceptions import WebhookSignatureError
from spine._models import WebhookEvent
from spine._webhooks import (
    Webhooks,
    compute_signature,
    construct_event,
    signature_header,
)

SECRET = "whsec_test_0123456789abcdef"
T = 1_745_251_200
EVENT = {
    "id": "evt_78ffe7c625d94d2192b2f5a8d63933a6",
    "type": "run.completed",
    "created": T,
    "livemode": True,
    "api_version": "2026-04-01",
    "data": {
        "object": {
            "run_id": "06bb6cee",
            "status": "completed",
            "final_output": "2 + 2 equals 4.",
            "artifacts": [],
        }
    },
}
BODY = json.dumps(EVENT, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET, t: int | str = T) -> str:
    """An independent HMAC, as the reference describes it: hex of HMAC-SHA256("{t}.{body}")."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def header(body: bytes = BODY, secret: str = SECRET, t: int = T) -> str:
    return f"t={t},v1={sign(body, secret, t)}"


def verify(body: Any = BODY, sig: Any = None, secret: Any = SECRET, **kw: Any) -> WebhookEvent:
    kw.setdefault("now", float(T))
    return construct_event(body, header() if sig is None else sig, secret, **kw)


def test_valid_event() -> None:
    event = verify()
    assert isinstance(event, WebhookEvent)
    assert event.id == EVENT["id"]
    assert event.type == "run.completed"
    assert event.created == T
    assert event.livemode is True
    assert event.api_version == "2026-04-01"
    assert event.data["object"]["final_output"] == "2 + 2 equals 4."


def test_str_payload() -> None:
    assert verify(BODY.decode()).id == EVENT["id"]


def test_unicode_payload_signed_as_utf8() -> None:
    body = json.dumps(dict(EVENT, type="run.completed"), ensure_ascii=False).encode()
    body = body.replace(b"2 + 2 equals 4.", "Ответ — 4 ✓".encode())
    event = construct_event(body.decode("utf-8"), header(body), SECRET, now=T)
    assert event.data["object"]["final_output"] == "Ответ — 4 ✓"


def test_webhooks_class_is_the_same_check() -> None:
    webhooks = Webhooks()
    assert webhooks.construct_event(BODY, header(), SECRET, now=T) == verify()
    with pytest.raises(WebhookSignatureError):
        webhooks.construct_event(BODY + b" ", header(), SECRET, now=T)


def test_helpers_agree_with_an_independent_hmac() -> None:
    assert compute_signature(BODY, SECRET, T) == sign(BODY)
    assert signature_header(BODY, SECRET, timestamp=T) == header()


def test_default_now_is_the_current_time() -> None:
    assert construct_event(BODY, signature_header(BODY, SECRET), SECRET).id == EVENT["id"]
    old = signature_header(BODY, SECRET, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookSignatureError, match="old"):
        construct_event(BODY, old, SECRET)


def test_several_v1_signatures_one_matching() -> None:
    other = sign(BODY, "whsec_old_secret")
    assert verify(sig=f"t={T},v1={other},v1={sign(BODY)}").id == EVENT["id"]
    assert verify(sig=f"t={T}, v1={sign(BODY)} , v1={other}").id == EVENT["id"]


def test_other_schemes_and_upper_case_hex() -> None:
    assert verify(sig=f"v0=abc,t={T},v1={sign(BODY).upper()},x=1").id == EVENT["id"]


def test_tolerance_boundaries_both_directions() -> None:
    assert verify(now=T + 300).id == EVENT["id"]
    assert verify(now=T - 300).id == EVENT["id"]
    with pytest.raises(WebhookSignatureError, match="301s old"):
        verify(now=T + 301)
    with pytest.raises(WebhookSignatureError, match="301s in the future"):
        verify(now=T - 301)
    assert verify(now=T + 1000, tolerance=1000).id == EVENT["id"]
    with pytest.raises(WebhookSignatureError, match="tolerance of 0s"):
        verify(now=T + 1, tolerance=0)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"body": BODY + b"\n"}, "No signature matches"),
        ({"body": BODY.replace(b"4.", b"5.")}, "No signature matches"),
        ({"secret": "whsec_wrong"}, "No signature matches"),
        ({"sig": f"t={T + 1},v1={sign(BODY)}"}, "No signature matches"),
        ({"sig": f"t={T},v1=deadbeef"}, "No signature matches"),
        ({"sig": f"t={T},v1=ünïcode"}, "No signature matches"),
        ({"sig": ""}, "Missing Spine-Signature header"),
        ({"sig": "   "}, "Missing Spine-Signature header"),
        ({"sig": f"v1={sign(BODY)}"}, "no timestamp"),
        ({"sig": f"t={T}"}, "no v1 signature"),
        ({"sig": f"t={T},v1="}, "no v1 signature"),
        ({"sig": f"t={T},t={T},v1={sign(BODY)}"}, "more than one timestamp"),
        ({"sig": f"t=abc,v1={sign(BODY)}"}, "not an integer"),
        ({"sig": f"t=-5,v1={sign(BODY)}"}, "not an integer"),
        ({"sig": f"t=1.5,v1={sign(BODY)}"}, "not an integer"),
        ({"sig": f"t=١٢٣,v1={sign(BODY)}"}, "not an integer"),
        ({"sig": f"t={'9' * 40},v1={sign(BODY)}"}, "not an integer"),
        ({"sig": "garbage"}, "no timestamp"),
        ({"secret": ""}, "No webhook secret"),
        ({"secret": None}, "No webhook secret"),
        ({"body": 12345}, "raw request body as bytes or str"),
        ({"body": {"id": "x"}}, "raw request body as bytes or str"),
        ({"tolerance": -1}, "tolerance must be a non-negative"),
        ({"sig": 5}, "must be a str"),
    ],
)
def test_failures(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(WebhookSignatureError, match=needle):
        verify(**kwargs)


def test_missing_header_none() -> None:
    with pytest.raises(WebhookSignatureError, match="Missing"):
        construct_event(BODY, None, SECRET, now=T)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1,2]", "not a JSON object"),
        (b'"event"', "not a JSON object"),
        (b'{"type": "run.completed", "created": 1}', "id: Field required"),
        (b'{"id": "e", "type": "t", "created": "yesterday"}', "created"),
    ],
)
def test_signed_body_must_be_an_event(body: bytes, needle: str) -> None:
    with pytest.raises(WebhookSignatureError, match=needle) as info:
        construct_event(body, header(body), SECRET, now=T)
    assert info.value.__cause__ is not None


def test_unknown_fields_are_ignored() -> None:
    body = json.dumps(dict(EVENT, new_field=1)).encode()
    assert construct_event(body, header(body), SECRET, now=T).id == EVENT["id"]


def test_error_never_contains_the_secret() -> None:
    with pytest.raises(WebhookSignatureError) as info:
        verify(secret=SECRET + "x")
    assert SECRET not in str(info.value)


@given(payload=st.binary(max_size=200), sig=st.text(max_size=120))
def test_only_webhook_errors_escape(payload: bytes, sig: str) -> None:
    with contextlib.suppress(WebhookSignatureError):
        construct_event(payload, sig, SECRET, now=T)


@given(payload=st.binary(max_size=200))
def test_signed_random_bytes_only_raise_webhook_errors(payload: bytes) -> None:
    with contextlib.suppress(WebhookSignatureError):
        construct_event(payload, header(payload), SECRET, now=T)


@given(
    obj=st.dictionaries(
        st.sampled_from(["id", "type", "created", "livemode", "data", "x"]),
        st.none() | st.integers() | st.text(max_size=5) | st.booleans(),
    ),
    skew=st.integers(min_value=-1000, max_value=1000),
)
def test_signed_fuzz_bodies(obj: dict[str, Any], skew: int) -> None:
    body = json.dumps(obj).encode()
    try:
        event = construct_event(body, header(body), SECRET, now=T + skew)
    except WebhookSignatureError:
        return
    assert abs(skew) <= 300
    assert event.id == obj["id"]
