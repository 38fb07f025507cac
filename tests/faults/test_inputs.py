"""Bad and hostile input through the real clients, against the sandbox: ids that try to change the
request path, text and file names that try to break out of their form field, input that no
encoding can carry. Either the input arrives exactly, or it is refused before any request."""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from pathlib import Path

import pytest

import spine
from spine.testing import Sandbox

from .conftest import KEY, Api

HOSTILE_IDS = [
    "../",
    "../../v1/run",
    "..%2f..%2f",
    "%2e%2e",
    "%2E%2E/",
    "./",
    "a/b",
    "?x=1",
    "#frag",
    "a?b#c",
    "%00",
    "\0",
    " a ",
    "\ta",
    "a\r\nX-Injected: 1",
    "ü-ñ-漢字-😀",
    "\u202eevil",
    ";jsessionid=1",
    "\\..\\",
    "x" * 1024,
]


def _one_request(sandbox: Sandbox) -> object:
    (record,) = sandbox.requests
    sandbox.clear_requests()
    return record


UUID = "550e8400-e29b-41d4-a716-446655440000"
# Not UUIDs in the form the spec declares (string<uuid>), though some look close.
NOT_UUIDS = [
    "not-a-uuid",
    UUID[:-1],
    UUID + "0",
    UUID + "\n",
    "\n" + UUID,
    f" {UUID}",
    f"{{{UUID}}}",
    f"urn:uuid:{UUID}",
    UUID.replace("-", ""),
    UUID.replace("-", "_"),
    UUID[:8] + "/" + UUID[9:],
    UUID.replace("0", "\uff10"),  # fullwidth digits are not hex
    UUID.replace("e", "\u0435"),  # a Cyrillic e
    UUID + "/../x",
    UUID + "?x=1",
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS + NOT_UUIDS, ids=lambda v: repr(v)[:30])
def test_an_id_that_is_not_a_uuid_is_refused_before_sending(
    api: Api, sandbox: Sandbox, hostile: str
) -> None:
    # run_id, canvas_id and task_id are string<uuid> in the spec (reference §1, §2): the API
    # answers a malformed one with 400. The SDK says so itself, and sends nothing.
    client = api.client(base_url=sandbox.url)
    for method, args in [
        (client.runs.get, (hostile,)),
        (client.runs.attach, (hostile,)),
        (client.canvas.get_dag, (hostile,)),
        (client.canvas.get_tasks, (hostile,)),
        (client.canvas.get_task, (hostile, UUID)),
        (client.canvas.get_task, (UUID, hostile)),
    ]:
        with pytest.raises(spine.InvalidRequestError, match="Nothing was sent") as info:
            api.call(method, *args)
        assert info.value.request_id is None and info.value.status_code == 0  # nothing was sent
        assert isinstance(info.value, ValueError)
    assert sandbox.requests == []


@pytest.mark.parametrize(
    "given",
    [UUID, UUID.upper(), "550E8400-e29b-41D4-a716-446655440000", uuid.UUID(UUID)],
    ids=["lower", "upper", "mixed", "uuid.UUID"],
)
def test_a_uuid_lands_in_exactly_one_segment_in_its_canonical_form(
    api: Api, sandbox: Sandbox, given: object
) -> None:
    client = api.client(base_url=sandbox.url)
    calls = [
        (client.runs.get, (given,), f"/v1/run/{UUID}"),
        (client.canvas.get_dag, (given,), f"/v1/canvas/{UUID}/dag"),
        (client.canvas.get_tasks, (given,), f"/v1/canvas/{UUID}/tasks"),
        (client.canvas.get_task, (given, given), f"/v1/canvas/{UUID}/tasks/{UUID}"),
    ]
    for method, args, path in calls:
        with pytest.raises(spine.NotFoundError):  # no such run or canvas in the sandbox
            api.call(method, *args)
        record = _one_request(sandbox)
        assert record.path == path  # type: ignore[attr-defined]
        assert record.query == ""  # type: ignore[attr-defined]
    assert client.runs.attach(given).run_id == UUID


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("", spine.BadRequestError),
        ("   ", spine.BadRequestError),
        (".", spine.BadRequestError),
        ("..", spine.BadRequestError),
        ("x" * 1025, spine.BadRequestError),
        ("a" * 70000, spine.BadRequestError),  # past the URL length limit of the HTTP layer
        ("\ud800", spine.BadRequestError),  # a lone surrogate: not text any encoding can carry
        ("ok\udcffok", spine.BadRequestError),
        (None, TypeError),
        (42, TypeError),
        (b"550e8400", TypeError),
    ],
)
def test_impossible_ids_are_refused_before_any_request(
    api: Api, sandbox: Sandbox, bad: object, error: type[Exception]
) -> None:
    client = api.client(base_url=sandbox.url)
    for method, args in [
        (client.runs.get, (bad,)),
        (client.canvas.get_dag, (bad,)),
        (client.canvas.get_tasks, (bad,)),
        (client.canvas.get_task, ("550e8400-e29b-41d4-a716-446655440000", bad)),
        (client.runs.attach, (bad,)),
    ]:
        with pytest.raises(error) as info:
            api.call(method, *args)
        if isinstance(info.value, spine.BadRequestError):
            assert info.value.request_id is None  # nothing was sent
    assert sandbox.requests == []


TEXTS = [
    "plain",
    "  leading and trailing spaces  ",
    "line one\r\nline two\rthree\nfour",
    "tab\tnul\0bell\x07esc\x1bdel\x7f",
    'quotes " \' and ; semicolons; name="prompt"',
    '--boundary-lookalike\r\n--\r\nContent-Disposition: form-data; name="template"\r\n\r\nmemo',
    "ünïcödé 漢字 😀 \u202e rtl \ufeff bom \u2028 separators \u00a0",
    "\U0010ffff last code point",
    "x" * 1_000_000,
]


@pytest.mark.parametrize("text", TEXTS, ids=lambda t: repr(t)[:24])
def test_prompt_and_instructions_arrive_exactly(api: Api, sandbox: Sandbox, text: str) -> None:
    client = api.client(base_url=sandbox.url)
    prompt = "P " + text  # the sandbox refuses a blank prompt, as the API does
    handle = api.call(
        client.runs.create, prompt, agent_instructions=text, template="memo", blocks=None
    )
    info = sandbox.run_info(handle.run_id)
    assert info["prompt"] == prompt
    assert info["agent_instructions"] == text
    assert info["template"] == "memo"
    assert sandbox.runs_created == 1


@pytest.mark.parametrize(
    "text", [chr(0xD800), f"a{chr(0xDFFF)}b", chr(0xDCFF)], ids=["high", "low", "escape"]
)
@pytest.mark.parametrize("field", ["prompt", "agent_instructions", "webhook_url", "template"])
def test_text_no_encoding_can_carry_is_refused_before_any_request(
    api: Api, sandbox: Sandbox, text: str, field: str
) -> None:
    client = api.client(base_url=sandbox.url)
    kwargs = {"prompt": "hello", field: text}
    prompt = kwargs.pop("prompt")
    with pytest.raises(spine.BadRequestError, match=field):
        api.call(client.runs.create, prompt, **kwargs)
    assert sandbox.requests == []


HOSTILE_NAMES = [
    'quote"name.txt',
    'a"; name="prompt"; x=".txt',
    'crlf\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nowned.txt',
    "semi;colon;.csv",
    "ünïcödé-漢字-😀.md",
    "\u202eexe.txt",
    "nul\0byte.txt",
    "percent%22quote%0D%0A.txt",
    "  spaced  .txt",
    "x" * 300 + ".txt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda n: repr(n)[:24])
def test_hostile_filenames_never_alter_another_field(api: Api, sandbox: Sandbox, name: str) -> None:
    client = api.client(base_url=sandbox.url)
    payload = os.urandom(4096) + b"\r\n--" + name.encode("utf-8", "replace")
    handle = api.call(
        client.runs.create,
        "the real prompt",
        template="report",
        agent_instructions="the real instructions",
        files=[(name, payload), ("second.txt", b"second")],
    )
    info = sandbox.run_info(handle.run_id)
    assert info["prompt"] == "the real prompt"
    assert info["template"] == "report"
    assert info["agent_instructions"] == "the real instructions"
    first, second = sandbox.uploads(handle.run_id)
    assert first.sha256 == hashlib.sha256(payload).hexdigest() and first.size == len(payload)
    assert second.sha256 == hashlib.sha256(b"second").hexdigest()
    assert second.filename == "second.txt"
    # The name itself arrives with the HTML5 form escapes (" and control characters as %XX).
    escaped = name.replace('"', "%22")
    for code in range(0x20):
        if code != 0x1B:
            escaped = escaped.replace(chr(code), f"%{code:02X}")
    assert first.filename == escaped


@pytest.mark.skipif(sys.platform != "linux", reason="needs a filesystem that takes any bytes")
def test_a_file_whose_name_is_not_utf8_is_still_sent(
    api: Api, sandbox: Sandbox, tmp_path: Path
) -> None:
    raw_name = b"report-\xff\xfe-latin1-\xe9.txt"
    path = os.path.join(os.fsencode(tmp_path), raw_name)
    with open(path, "wb") as fh:
        fh.write(b"contents")
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, "hello", files=[os.fsdecode(path)])
    (upload,) = sandbox.uploads(handle.run_id)
    assert upload.filename == "report-\ufffd\ufffd-latin1-\ufffd.txt"
    assert upload.sha256 == hashlib.sha256(b"contents").hexdigest()


@pytest.mark.parametrize(
    "content_type", ["text/plain\0", "text/\x07plain", "text/plain\x7f", "text/plaïn", "a\udcffb"]
)
def test_unsendable_content_types_are_refused_before_any_request(
    api: Api, sandbox: Sandbox, content_type: str
) -> None:
    client = api.client(base_url=sandbox.url)
    with pytest.raises(ValueError, match="content_type"):
        api.call(client.runs.create, "hello", files=[("a.txt", b"x", content_type)])
    assert sandbox.requests == []


@pytest.mark.parametrize(
    "key",
    [
        "sk_spine_abc\u00e9",
        "sk_spine_abc\x01",
        "sk_spine_abc\x7f",
        "sk_spine_\u2028abc",
        "sk_spine_ab\ud800",
        "sk_spine_ab\r\nX-Evil: 1",
        "sk_spine_ab\0",
    ],
)
def test_unsendable_api_keys_are_refused_at_construction_without_echoing_them(
    api: Api, key: str
) -> None:
    with pytest.raises(ValueError) as info:
        api.client(api_key=key, base_url="http://127.0.0.1:9")
    assert "abc" not in str(info.value) and "ab" + key[-1] not in str(info.value)


@pytest.mark.parametrize("key", [42, b"sk_spine_x", ["sk_spine_x"]])
def test_api_key_of_the_wrong_type(api: Api, key: object) -> None:
    with pytest.raises(TypeError, match="api_key must be a str"):
        api.client(api_key=key, base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.getspine.ai",
        "http://10.0.0.1:8080",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "HTTP://example.com",
    ],
)
def test_plain_http_to_a_remote_host_is_refused_unless_allowed(api: Api, url: str) -> None:
    with pytest.raises(ValueError, match="Refusing plain http"):
        api.client(base_url=url)
    client = api.client(base_url=url, allow_http=True)
    assert client.base_url.lower().startswith("http://")


def test_key_constant_is_valid() -> None:
    assert KEY.startswith("sk_spine_")
