"""The pure parts of artifact downloads: name sanitising, de-duplication, size checks, redirects,
temporary names and the canvas link."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from spine import RunArtifact
from spine._artifacts import (
    MAX_NAME_BYTES,
    MAX_REDIRECTS,
    ArtifactDownloadError,
    ArtifactSizeMismatchError,
    SizeCheck,
    _content_length,
    _Redirects,
    _storage_message,
    default_name,
    plan_names,
    safe_filename,
    temp_name,
    unique_names,
)
from spine._links import canvas_url

# ----------------------------------------------------------------------------- safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Q1_Report.docx", "Q1_Report.docx"),
        ("Résumé été.pdf", "Résumé été.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path", "path"),
        ("/etc/", "artifact"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\x00b", "ab"),
        ("a\x1b[31mred\x1b[0m.txt", "a[31mred[0m.txt"),
        ("tab\there\nnew.txt", "tab here new.txt"),
        ("\x7fdel\x85.txt", "del.txt"),
        ("re\u202ecod.exe", "recod.exe"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("..", "artifact"),
        (".", "artifact"),
        ("...", "artifact"),
        ("", "artifact"),
        ("   ", "artifact"),
        ("\x00\x01\x02", "artifact"),
        (".bashrc", "bashrc"),
        ("  ..hidden.txt  ", "hidden.txt"),
        ("trailing. . .", "trailing"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT1.docx", "_LPT1.docx"),
        ("COM9", "_COM9"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("-rf", "_-rf"),
        ("many     spaces.txt", "many spaces.txt"),
        ("\ud800lone.png", "lone.png"),
        ("e\u0301.txt", "\u00e9.txt"),  # NFC: e + combining acute becomes é
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_of_a_non_string_is_the_default() -> None:
    assert safe_filename(None) == "artifact"
    assert safe_filename(42, default="x.bin") == "x.bin"


def test_safe_filename_default_is_made_safe_too() -> None:
    assert safe_filename("", default="../evil") == "evil"
    assert safe_filename("", default="..") == "artifact"


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = "x" * 500 + ".docx"
    safe = safe_filename(name)
    assert len(safe.encode()) == MAX_NAME_BYTES
    assert safe.endswith(".docx")
    # multi-byte characters are never cut in the middle
    wide = safe_filename("\u00e9" * 300 + ".pptx")
    assert len(wide.encode()) <= MAX_NAME_BYTES
    assert wide.endswith(".pptx")
    wide.encode("utf-8")  # valid UTF-8
    # a very long "extension" is not treated as one
    odd = safe_filename("a." + "b" * 400)
    assert len(odd.encode()) <= MAX_NAME_BYTES


_hostile_text = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.sampled_from(
            ["/", "\\", ".", "..", ":", "\x00", "\x1b", "\u202e", " ", "CON", "-", "\ud800"]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_hostile_text)
def test_safe_filename_never_escapes(name: str) -> None:
    safe = safe_filename(name)
    assert safe
    assert safe not in (".", "..")
    assert "/" not in safe and "\\" not in safe
    assert not safe.startswith(".")
    assert not safe.endswith((".", " "))
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in safe)
    assert not any(c in '<>:"|?*' for c in safe)
    assert unicodedata.normalize("NFC", safe) == safe
    assert safe_filename(safe) == safe  # idempotent
    base = Path("/srv/out")
    target = (base / safe).resolve()
    assert target.parent == base.resolve()


# ----------------------------------------------------------------------------- unique names


def test_unique_names_deduplicates_case_insensitively() -> None:
    names = ["Report.docx", "report.docx", "Report (2).docx", "Report.docx", "other"]
    assert unique_names(names) == [
        "Report.docx",
        "report (2).docx",
        "Report (2) (2).docx",
        "Report (3).docx",
        "other",
    ]


def test_unique_names_respects_the_length_limit() -> None:
    long = "y" * 300 + ".xlsx"
    first, second = unique_names([safe_filename(long), safe_filename(long)])
    assert first != second
    assert second.endswith(" (2).xlsx")
    assert len(second.encode()) <= MAX_NAME_BYTES


@settings(max_examples=200, deadline=None)
@given(st.lists(_hostile_text, max_size=12))
def test_plan_names_are_distinct_and_safe(names: list[str]) -> None:
    artifacts = [
        RunArtifact(id=str(i), type="docx", name=n, download_url="https://x/y")
        for i, n in enumerate(names)
    ]
    planned = plan_names(artifacts)
    assert len(planned) == len(names)
    assert len({p.casefold() for p in planned}) == len(planned)
    for p in planned:
        assert safe_filename(p) == p


def test_default_name_uses_a_plain_type_only() -> None:
    def art(kind: str) -> RunArtifact:
        return RunArtifact(id="1", type=kind, name="", download_url="https://x/y")

    assert default_name(art("docx")) == "artifact.docx"
    assert default_name(art("PNG")) == "artifact.png"
    assert default_name(art("../x")) == "artifact"
    assert default_name(art("")) == "artifact"
    assert plan_names([art("docx"), art("docx")]) == ["artifact.docx", "artifact (2).docx"]


def test_temp_names_are_hidden_and_unique() -> None:
    names = {temp_name() for _ in range(200)}
    assert len(names) == 200
    for name in names:
        assert name.startswith(".spine-") and name.endswith(".part")
        assert safe_filename(name) != name  # never collides with a sanitised final name


# ----------------------------------------------------------------------------- size check


def test_size_check_exact() -> None:
    check = SizeCheck("a.bin", 10)
    check.begin()
    check.add(4)
    check.add(6)
    check.finish()
    assert check.received == 10
    assert check.total == 10


def test_size_check_too_short() -> None:
    check = SizeCheck("a.bin", 10)
    check.add(9)
    with pytest.raises(ArtifactSizeMismatchError) as info:
        check.finish()
    assert info.value.expected == 10 and info.value.received == 9
    assert "size_bytes" in str(info.value)


def test_size_check_stops_at_the_first_extra_byte() -> None:
    check = SizeCheck("a.bin", 10)
    check.add(10)
    with pytest.raises(ArtifactSizeMismatchError, match="more than the 10 bytes"):
        check.add(1)


def test_size_check_against_content_length_when_size_unknown() -> None:
    check = SizeCheck("a.bin", None, announced=5)
    assert check.total == 5
    check.add(3)
    with pytest.raises(ArtifactSizeMismatchError, match="Content-Length"):
        check.finish()
    unknown = SizeCheck("a.bin", None)
    unknown.add(1_000_000)
    unknown.finish()
    assert unknown.total is None


def test_size_check_refuses_a_different_announced_size_up_front() -> None:
    with pytest.raises(ArtifactSizeMismatchError, match="announces 11 bytes"):
        SizeCheck("a.bin", 10, announced=11).begin()
    SizeCheck("a.bin", 10, announced=10).begin()
    SizeCheck("a.bin", 0, announced=0).begin()


def test_content_length_is_ignored_for_encoded_bodies() -> None:
    assert _content_length({"content-length": "12"}) == 12
    assert _content_length({"content-length": "12", "content-encoding": "identity"}) == 12
    assert _content_length({"content-length": "12", "content-encoding": "gzip"}) is None
    assert _content_length({"content-length": "nope"}) is None
    assert _content_length({}) is None


# ----------------------------------------------------------------------------- redirects


def test_redirects_follow_relative_and_cross_host() -> None:
    r = _Redirects(httpx.URL("https://s3.example/a/b?sig=1"), "f")
    assert r.follow(302, {"location": "/c"})
    assert str(r.url) == "https://s3.example/c"
    assert r.follow(307, {"location": "https://cdn.example/d"})
    assert r.url.host == "cdn.example"
    assert not r.follow(200, {"location": "https://elsewhere/"})
    assert not r.follow(302, {})


def test_redirect_from_https_to_http_is_refused() -> None:
    r = _Redirects(httpx.URL("https://s3.example/a"), "f")
    with pytest.raises(ArtifactDownloadError, match="https to plain http"):
        r.follow(301, {"location": "http://s3.example/a"})


def test_redirect_to_another_scheme_is_refused() -> None:
    r = _Redirects(httpx.URL("http://s3.example/a"), "f")
    with pytest.raises(ArtifactDownloadError, match="'file'"):
        r.follow(302, {"location": "file:///etc/passwd"})
    # http -> https is fine
    assert r.follow(302, {"location": "https://s3.example/a"})


def test_too_many_redirects() -> None:
    r = _Redirects(httpx.URL("https://s3.example/0"), "f")
    for i in range(MAX_REDIRECTS):
        assert r.follow(302, {"location": f"/{i + 1}"})
    with pytest.raises(ArtifactDownloadError, match="more than 5 redirects"):
        r.follow(302, {"location": "/again"})


def test_storage_messages() -> None:
    s3 = (
        b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
        b"<Message>Request has expired</Message></Error>"
    )
    assert _storage_message(s3) == "AccessDenied: Request has expired"
    assert _storage_message(b'{"success": false, "error": "Download link expired"}') == (
        "Download link expired"
    )
    assert _storage_message(b"") is None
    assert _storage_message(b"plain words") == "plain words"


# ----------------------------------------------------------------------------- canvas link


def test_canvas_url() -> None:
    cid = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert canvas_url(cid) == f"https://app.getspine.ai/canvas/{cid}"
    assert canvas_url("a/../b?x#y") == "https://app.getspine.ai/canvas/a%2F..%2Fb%3Fx%23y"
    with pytest.raises(ValueError):
        canvas_url("  ")
    with pytest.raises(TypeError):
        canvas_url(None)  # type: ignore[arg-type]


def test_names_module_has_no_os_specific_assumptions() -> None:
    # The sanitiser treats both separators alike whatever the OS it runs on.
    assert safe_filename("a" + os.sep + "b") == "b"
