"""Round trips of ``POST /v1/run``: whatever the prompt, instructions, file names and bytes, the
form the SDK builds parses back (with python-multipart) into exactly the fields and files given,
and no value can alter another field. A second build (a retry) carries the same complete body."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from spine import _operations as ops
from spine._enums import BlockType, Template
from spine._files import guess_content_type

from ._multipart import Part, build, html5_escape, parse

HOSTILE = [
    "\r\n",
    "\r",
    "\n",
    "\0",
    '"',
    ";",
    "--",
    "--+++\r\n",
    "\r\n--+++--\r\n",
    '\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nowned',
    'name="template"',
    "%22",
    "\\",
    "\u2028",
    "\ufeff",
    "😀",
    "\x1b",
    "\x7f",
]

# Any text UTF-8 can carry (no lone surrogates), with the hostile pieces mixed in.
texts = st.lists(
    st.one_of(st.text(st.characters(codec="utf-8"), max_size=40), st.sampled_from(HOSTILE)),
    max_size=6,
).map("".join)
prompts = texts.filter(lambda t: bool(t.strip()))
optional_texts = st.none() | texts
content_bytes = st.lists(
    st.one_of(st.binary(max_size=512), st.sampled_from([h.encode() for h in HOSTILE] + [b"--+++"])),
    max_size=6,
).map(b"".join)
file_names = (
    st.lists(
        st.one_of(
            st.text(st.characters(codec="utf-8"), min_size=1, max_size=20), st.sampled_from(HOSTILE)
        ),
        min_size=1,
        max_size=4,
    )
    .map("".join)
    .filter(lambda n: bool(n.replace("\\", "/").rsplit("/", 1)[-1]))
)
content_types = st.none() | st.sampled_from(
    ["application/pdf", "text/plain; charset=utf-8", "image/png", "application/x-custom+json"]
)


@st.composite
def file_entries(draw: st.DrawFn) -> tuple[Any, str, bytes, str]:
    """One ``files=`` entry of a random shape, with the name, bytes and content type expected."""
    name = draw(file_names)
    data = draw(content_bytes)
    ctype = draw(content_types)
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    expected_type = ctype.strip() if ctype else guess_content_type(base)
    shape = draw(st.sampled_from(["bytes", "bytearray", "stream", "partly-read", "mapping"]))
    if shape == "bytes":
        entry: Any = (name, data) if ctype is None else (name, data, ctype)
    elif shape == "bytearray":
        entry = (name, bytearray(data), ctype)
    elif shape == "stream":
        entry = (name, io.BytesIO(data), ctype)
    elif shape == "partly-read":
        skip = draw(st.binary(max_size=64))
        stream = io.BytesIO(skip + data)
        stream.read(len(skip))
        entry = (name, stream, ctype)
    else:
        entry = {"filename": name, "content": memoryview(data)}
        if ctype is not None:
            entry["content_type"] = ctype
    return entry, base, data, expected_type


blocks_values = st.none() | st.lists(
    st.one_of(st.sampled_from(list(BlockType)), texts.filter(lambda t: bool(t.strip()))),
    min_size=1,
    max_size=4,
)
templates = st.one_of(st.sampled_from(list(Template)), prompts)


def _expected_text_fields(
    prompt: str,
    template: Template | str,
    blocks: list[Any] | None,
    instructions: str | None,
    webhook: str | None,
) -> list[tuple[str, str]]:
    fields = [("prompt", prompt), ("template", getattr(template, "value", template))]
    if blocks is not None:
        values = [getattr(b, "value", b) for b in blocks]
        fields.append(("blocks", json.dumps(values, separators=(",", ":"))))
    if instructions is not None:
        fields.append(("agent_instructions", instructions))
    if webhook is not None:
        fields.append(("webhook_url", webhook))
    return fields


def _check(parts: list[Part], fields: list[tuple[str, str]], files: list[Any]) -> None:
    assert [p.name for p in parts] == [n for n, _ in fields] + ["files"] * len(files)
    for part, (name, value) in zip(parts, fields, strict=False):
        assert part.filename is None, name
        assert part.content_type == "text/plain"
        assert part.data == value.encode("utf-8"), name
    for part, (_, base, data, ctype) in zip(parts[len(fields) :], files, strict=True):
        assert part.filename == html5_escape(base)
        assert part.data == data
        assert part.content_type == ctype


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=prompts,
    template=templates,
    blocks=blocks_values,
    instructions=optional_texts,
    webhook=optional_texts,
    files=st.lists(file_entries(), max_size=4),
)
def test_create_run_form_round_trips_exactly(
    prompt: str,
    template: Template | str,
    blocks: list[Any] | None,
    instructions: str | None,
    webhook: str | None,
    files: list[tuple[Any, str, bytes, str]],
) -> None:
    op = ops.create_run(
        prompt,
        template=template,
        blocks=blocks,
        agent_instructions=instructions,
        webhook_url=webhook,
        files=[entry for entry, *_ in files],
        idempotency_key=None,
    )
    fields = _expected_text_fields(prompt, template, blocks, instructions, webhook)
    first = build(op)
    _check(parse(first), fields, files)
    assert first.headers["idempotency-key"] == op.idempotency_key
    if "content-length" in first.headers:
        assert int(first.headers["content-length"]) == len(first.content)
    # A retry builds the request again: the same fields and every byte of every file, under a
    # new random boundary, with the same idempotency key.
    second = build(op)
    _check(parse(second), fields, files)
    assert second.headers["content-type"] != first.headers["content-type"]
    assert second.headers["idempotency-key"] == op.idempotency_key


@settings(max_examples=60, deadline=None)
@given(data=content_bytes)
def test_a_file_holding_the_boundary_of_the_generated_client_is_safe(data: bytes) -> None:
    """The generated client pinned the boundary to ``+++``; the SDK lets httpx draw a random
    one, so a file made of boundary lines still arrives whole."""
    payload = b"--+++\r\n" + data + b"\r\n--+++--\r\n"
    op = ops.create_run(
        "p",
        template="auto",
        blocks=None,
        agent_instructions=None,
        webhook_url=None,
        files=[("b.txt", payload)],
        idempotency_key=None,
    )
    request = build(op)
    assert b"boundary=+++" not in request.headers["content-type"].encode()
    (_, _, part) = parse(request)
    assert part.data == payload


@settings(max_examples=80, deadline=None)
@given(
    name=st.text(st.characters(), min_size=1, max_size=30).filter(
        lambda n: bool(n.replace("\\", "/").rsplit("/", 1)[-1])
    )
)
def test_any_filename_even_invalid_unicode_is_sent_as_one_utf8_name(name: str) -> None:
    """Names with lone surrogates (from a non-UTF-8 file system, or built by hand) are sent with
    U+FFFD in their place; the name never escapes its quoted parameter."""
    op = ops.create_run(
        "p",
        template="auto",
        blocks=None,
        agent_instructions=None,
        webhook_url=None,
        files=[(name, b"data"), ("after.txt", b"after")],
        idempotency_key=None,
    )
    parts = parse(build(op))
    assert [p.name for p in parts] == ["prompt", "template", "files", "files"]
    first, second = parts[2], parts[3]
    assert first.data == b"data" and second.data == b"after"
    assert second.filename == "after.txt"
    assert first.filename is not None
    assert '"' not in first.filename and "\r" not in first.filename and "\n" not in first.filename


@pytest.mark.parametrize("surrogate", [chr(0xD800), chr(0xDFFF), chr(0xDC80)])
@pytest.mark.parametrize("field", ["prompt", "agent_instructions", "webhook_url"])
def test_text_with_a_lone_surrogate_is_refused(field: str, surrogate: str) -> None:
    kwargs: dict[str, Any] = {
        "template": "auto",
        "blocks": None,
        "agent_instructions": None,
        "webhook_url": None,
        "files": None,
        "idempotency_key": None,
    }
    prompt = "p"
    if field == "prompt":
        prompt = "p" + surrogate
    else:
        kwargs[field] = surrogate
    with pytest.raises(ops.InvalidRequestError, match=field):
        ops.create_run(prompt, **kwargs)
