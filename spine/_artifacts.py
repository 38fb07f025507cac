"""Downloading a run's artifacts (the files it produced) from their pre-signed URLs.

    result = handle.wait()
    paths = result.download_all("out")                  # await result.adownload_all("out")
    path = result.artifacts[0].download("out/", progress=lambda done, total: ...)

What a download guarantees:

* **No credentials leave the SDK.** Artifacts are fetched with a plain ``httpx`` client of their
  own, never the API client: no ``X-API-KEY``, ``Authorization`` or ``Cookie`` header reaches the
  storage host. A client you pass as ``http_client`` is used for the connection only: its auth
  and any such default headers are dropped for these requests.
* **Redirects are followed by hand** (at most :data:`MAX_REDIRECTS`), and one that would leave
  ``https`` for plain ``http`` is refused.
* **Atomic files.** Bytes stream into a temporary file (``.spine-<random>.part``) in the
  destination directory, which is renamed onto the final name only when the download is
  complete and checked. On any error (HTTP, network, size mismatch, a progress callback that
  raises, Ctrl-C) the temporary file is removed: a half-written file never appears under the
  final name.
* **Sizes are checked** against ``size_bytes`` when the API gives it (and against
  ``Content-Length``); a body longer than announced is cut off as soon as it overflows.
* **Safe names.** :func:`safe_filename` turns an artifact name into one plain file name that
  cannot escape the target directory; :func:`unique_names` de-duplicates a batch.
* **Expired links are named as such.** A pre-signed link expires soon after the run ends: a
  403, 404 or 410 from the storage host raises :class:`ArtifactLinkExpiredError`, which says to
  fetch the run again for its current links.

Failures raise, from the one tree in :mod:`spine._exceptions`: ``SpineConnectionError`` (the
storage host could not be reached, or the connection broke), ``SpineTimeoutError`` (too slow),
``ArtifactLinkExpiredError`` (403/404/410: refresh the run for new links),
``ArtifactSizeMismatchError`` and ``ArtifactDownloadError`` (any other refusal).

Layout: the decisions are pure and shared (names, targets, redirects, status and size checks,
temporary names); :class:`_Transfer` is the file side, shared too; the sync and async drivers
below only move bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import os
import random
import re
import secrets
import time
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from spine._exceptions import (
    ArtifactDownloadError,
    ArtifactLinkExpiredError,
    ArtifactSizeMismatchError,
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
    body_excerpt,
    sentence,
)
from spine._redact import redact
from spine._retry import (
    RetryPolicy,
    classify_exception,
    classify_status,
    compute_delay,
    parse_retry_after,
    rule_of,
)
from spine._version import __version__

if TYPE_CHECKING:
    from spine._models import GetRunResponse, RunArtifact

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_NAME_BYTES",
    "MAX_REDIRECTS",
    "ArtifactDownloadError",
    "ArtifactLinkExpiredError",
    "ArtifactProgressCallback",
    "ArtifactSizeMismatchError",
    "DownloadEvents",
    "Downloaded",
    "ProgressCallback",
    "SizeCheck",
    "Source",
    "adownload_artifact",
    "adownload_artifacts",
    "adownload_batch",
    "bind",
    "default_name",
    "download_artifact",
    "download_artifacts",
    "download_batch",
    "plan_names",
    "safe_filename",
    "source_of",
    "temp_name",
    "unique_names",
]

ProgressCallback = Callable[[int, "int | None"], None]
"""``progress(bytes_done, bytes_total_or_None)``: called when a download starts (with 0) and
after every chunk written. ``bytes_total`` is ``size_bytes``, else ``Content-Length``, else None."""

ArtifactProgressCallback = Callable[["RunArtifact", int, "int | None"], None]
"""``progress(artifact, bytes_done, bytes_total_or_None)``: the batch form, for ``download_all``."""

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
"""Per network operation: 10 s to connect, then 60 s at most between bytes (not a total)."""
MAX_REDIRECTS = 5
MAX_NAME_BYTES = 200
"""Longest file name written, in UTF-8 bytes: under every common 255-byte limit, with room for
a de-duplicating `` (2)``."""
CHUNK_SIZE = 64 * 1024
_EXCERPT_BYTES = 4096
USER_AGENT = f"spine-sdk-python/{__version__}"

_REQUEST_HEADERS = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"}
# Never sent to a storage host, whatever the http_client passed in carries by default.
_CREDENTIAL_HEADERS = ("x-api-key", "authorization", "proxy-authorization", "cookie")
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_EXPIRED_STATUSES = frozenset({403, 404, 410})


# ----------------------------------------------------------------------------- names (pure)

# Characters Windows refuses in a file name (and "/" everywhere).
_RESERVED_CHARS = frozenset('<>:"/\\|?*')
# Invisible characters that reorder text: a name could look like "report.docx" and be "xcod.exe".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_WHITESPACE_CONTROLS = frozenset("\t\n\r\v\f")
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{prefix}{digit}" for prefix in ("COM", "LPT") for digit in "0123456789\u00b9\u00b2\u00b3"}
)
_MAX_EXTENSION_CHARS = 16
_TYPE_RE = re.compile(r"[A-Za-z0-9]{1,10}")


def _clean_chars(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch in _WHITESPACE_CONTROLS:
            out.append(" ")
        elif ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            continue  # NUL, other control characters, lone surrogates, bidi overrides
        elif ch in _RESERVED_CHARS:
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def _split_extension(name: str) -> tuple[str, str]:
    """``("Report", ".docx")``; no extension when the dot is first or the "extension" is long."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or len(ext) > _MAX_EXTENSION_CHARS or " " in ext:
        return name, ""
    return stem, "." + ext


def _fit(name: str, limit: int, tag: str = "") -> str:
    """``name`` with ``tag`` inserted before its extension, cut to ``limit`` UTF-8 bytes."""
    stem, ext = _split_extension(name)
    budget = limit - len(tag.encode()) - len(ext.encode())
    if budget < 1:  # an absurd extension: keep the start of the whole name instead
        stem, ext = name, ""
        budget = limit - len(tag.encode())
    encoded = stem.encode("utf-8")
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", errors="ignore").rstrip(" .")
    if tag:
        stem = stem.rstrip(" ")
    return f"{stem}{tag}{ext}"


def safe_filename(name: object, default: str = "artifact") -> str:
    """One plain file name made from ``name`` that cannot write outside its directory.

    Directories are stripped (``../../etc/passwd`` becomes ``passwd``, ``C:\\x\\y.txt`` becomes
    ``y.txt``); NUL, control and bidirectional-override characters are removed; characters that
    Windows refuses (``<>:"|?*``) become ``_``; leading dots (hidden files, ``..``), trailing
    dots and spaces, and runs of whitespace are trimmed; Windows device names (``CON``,
    ``nul.txt``, ``COM1``...) and a leading ``-`` get a ``_`` prefix; the result is cut to
    :data:`MAX_NAME_BYTES` UTF-8 bytes, keeping the extension. A name with nothing left becomes
    ``default`` (itself made safe, falling back to ``artifact``).
    """
    text = name if isinstance(name, str) else ""
    # Lone surrogates (possible in JSON) cannot be normalised or encoded: drop them first.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cs")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = " ".join(_clean_chars(text).split())
    text = text.lstrip(". ").rstrip(". ")
    if text.startswith("-"):
        text = "_" + text
    if text.split(".", 1)[0].rstrip(" ").upper() in _DEVICE_NAMES:
        text = "_" + text
    text = _fit(text, MAX_NAME_BYTES) if len(text.encode("utf-8")) > MAX_NAME_BYTES else text
    if not text:
        fallback = safe_filename(default, "artifact") if default != "artifact" else "artifact"
        return fallback or "artifact"
    return text


def unique_names(names: Iterable[str]) -> list[str]:
    """The names, with later duplicates renamed ``Report (2).docx``, ``Report (3).docx``...

    Names are compared case-insensitively (and after Unicode normalisation), as on the
    file systems of macOS and Windows, so two names never land on the same file.
    """
    taken: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate = name
        n = 2
        while _fold(candidate) in taken:
            candidate = _fit(name, MAX_NAME_BYTES, f" ({n})")
            n += 1
        taken.add(_fold(candidate))
        out.append(candidate)
    return out


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def default_name(artifact: RunArtifact) -> str:
    """The file name used when an artifact's name has nothing usable: ``artifact.<type>``."""
    kind = artifact.type if isinstance(artifact.type, str) else ""
    return f"artifact.{kind.lower()}" if _TYPE_RE.fullmatch(kind) else "artifact"


def plan_names(artifacts: Sequence[RunArtifact]) -> list[str]:
    """The file name of each artifact in a batch: made safe, then de-duplicated."""
    return unique_names(safe_filename(a.name, default_name(a)) for a in artifacts)


def temp_name() -> str:
    """A fresh name for the temporary file of a download (hidden, unguessable)."""
    return f".spine-{secrets.token_hex(8)}.part"


def _resolve_target(dest: str | os.PathLike[str], artifact: RunArtifact) -> Path:
    """The file to write: inside ``dest`` when it is a directory, else ``dest`` itself."""
    raw = os.fspath(dest)
    path = Path(raw)
    if path.is_dir() or raw.endswith(("/", os.sep)):
        return path / safe_filename(artifact.name, default_name(artifact))
    return path


# ----------------------------------------------------------------------------- checks (pure)


class SizeCheck:
    """Counts the bytes of one download and checks them against what was announced.

    ``expected`` is the artifact's ``size_bytes`` (None when unknown); ``announced`` is the
    ``Content-Length`` of a response without a content encoding (None otherwise).
    """

    def __init__(self, name: str, expected: int | None, announced: int | None = None) -> None:
        self.name = name
        self.expected = expected
        self.announced = announced
        self.received = 0

    @property
    def total(self) -> int | None:
        """What the download should come to, for progress: ``size_bytes``, else Content-Length."""
        return self.expected if self.expected is not None else self.announced

    def _mismatch(self, detail: str, received: int) -> ArtifactSizeMismatchError:
        return ArtifactSizeMismatchError(
            f"Artifact {self.name!r}: {detail}; the download was discarded. Download it again; "
            "if this persists, the file on the storage host does not match what the run reported.",
            artifact_name=self.name,
            expected=self.total,
            received=received,
        )

    def begin(self) -> None:
        """Before any byte: the storage host must not announce a size other than ``size_bytes``."""
        if (
            self.expected is not None
            and self.announced is not None
            and self.announced != self.expected
        ):
            raise self._mismatch(
                f"the storage host announces {self.announced} bytes but the run reported "
                f"{self.expected} (size_bytes)",
                0,
            )

    def add(self, count: int) -> None:
        """After ``count`` more bytes arrived; raises as soon as the body is too long."""
        self.received += count
        total = self.total
        if total is not None and self.received > total:
            raise self._mismatch(f"received more than the {total} bytes announced", self.received)

    def finish(self) -> None:
        """After the last byte: the count must be exactly what was announced."""
        total = self.total
        if total is not None and self.received != total:
            what = "size_bytes" if self.expected is not None else "Content-Length"
            raise self._mismatch(
                f"received {self.received} bytes but {total} were announced ({what})",
                self.received,
            )


def _content_length(headers: Mapping[str, str]) -> int | None:
    """``Content-Length`` as a byte count, when it describes the body the SDK will see."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    raw = headers.get("content-length")
    if raw is None or encoding not in ("", "identity"):
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


def _display_url(url: httpx.URL) -> str:
    """Scheme, host and path of a URL, never the query (a pre-signed URL's query is a secret)."""
    path = url.path if len(url.path) <= 80 else url.path[:80] + "\u2026"
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{path}"


def _parse_url(raw: str, name: str) -> httpx.URL:
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ArtifactDownloadError(
            f"Artifact {name!r} has a download_url that is not a valid URL.", artifact_name=name
        ) from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ArtifactDownloadError(
            f"Artifact {name!r} has a download_url that is not an absolute http(s) URL.",
            artifact_name=name,
        )
    return url


class _Redirects:
    """Where the next request goes; follows redirects by hand, refusing https -> http."""

    def __init__(self, url: httpx.URL, name: str) -> None:
        self.url = url
        self.name = name
        self.count = 0

    def follow(self, status_code: int, headers: Mapping[str, str]) -> bool:
        """True when the response is a redirect to follow (``self.url`` is then updated)."""
        location = headers.get("location")
        if status_code not in _REDIRECT_STATUSES or not location:
            return False
        if self.count >= MAX_REDIRECTS:
            raise ArtifactDownloadError(
                f"Downloading artifact {self.name!r}: more than {MAX_REDIRECTS} redirects.",
                artifact_name=self.name,
                status_code=status_code,
                url=_display_url(self.url),
            )
        try:
            target = self.url.join(location)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ArtifactDownloadError(
                f"Downloading artifact {self.name!r}: the storage host redirected to an"
                " invalid URL.",
                artifact_name=self.name,
                status_code=status_code,
                url=_display_url(self.url),
            ) from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise ArtifactDownloadError(
                f"Downloading artifact {self.name!r}: refusing a redirect to a"
                f" {target.scheme!r} URL.",
                artifact_name=self.name,
                status_code=status_code,
                url=_display_url(self.url),
            )
        if self.url.scheme == "https" and target.scheme == "http":
            raise ArtifactDownloadError(
                f"Downloading artifact {self.name!r}: refusing to follow a redirect from https to "
                f"plain http ({target.host}); the file would travel unencrypted.",
                artifact_name=self.name,
                status_code=status_code,
                url=_display_url(self.url),
            )
        self.count += 1
        self.url = target
        return True


_XML_FIELD_RE = re.compile(rb"<(Code|Message)>([^<]{1,200})</\1>")


def _storage_message(body: bytes) -> str | None:
    """The storage host's own words from an error body (S3-style XML or a JSON ``error``)."""
    if not body.strip():
        return None
    fields = {m.group(1): m.group(2) for m in _XML_FIELD_RE.finditer(body)}
    if fields:
        text = b": ".join(v for v in (fields.get(b"Code"), fields.get(b"Message")) if v)
        return body_excerpt(text)
    try:
        import json

        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return body_excerpt(body)
    if isinstance(parsed, dict):
        for key in ("error", "message", "detail"):
            value = parsed.get(key)
            if isinstance(value, str) and value.strip():
                return body_excerpt(value.encode())
    return body_excerpt(body)


def _status_error(
    status_code: int,
    body: bytes,
    name: str,
    url: httpx.URL,
    headers: Mapping[str, str] | None = None,
) -> ArtifactDownloadError:
    """The exception for a storage host's answer that is neither 2xx nor a redirect, classified
    by the SDK's one outcome table (a 5xx, 408 or 429 is retried; ``Retry-After`` honoured)."""
    error = _status_error_of(status_code, body, name, url)
    error._outcome = classify_status(status_code, enveloped=False)
    retry_after = (headers or {}).get("retry-after")
    error._retry_after = parse_retry_after(retry_after, now=time.time())
    return error


def _status_error_of(
    status_code: int, body: bytes, name: str, url: httpx.URL
) -> ArtifactDownloadError:
    said = _storage_message(body)
    detail = f"HTTP {status_code}: {said}" if said else f"HTTP {status_code}"
    where = _display_url(url)
    if status_code in _EXPIRED_STATUSES:
        return ArtifactLinkExpiredError(
            f"The download link of artifact {name!r} was refused by {url.host} ({detail}). "
            "Pre-signed links expire after a short window (how long is not documented): fetch "
            "the run again (client.runs.get(run_id) or handle.refresh(); on the command line, "
            "spine download RUN_ID DIR) for its current links, then download again (whether a "
            "new read gives new links is not documented either).",
            artifact_name=name,
            status_code=status_code,
            url=where,
        )
    return ArtifactDownloadError(
        f"Downloading artifact {name!r} from {url.host} failed ({detail}).",
        artifact_name=name,
        status_code=status_code,
        url=where,
    )


def _transport_error(exc: httpx.HTTPError, name: str, url: httpx.URL) -> SpineError:
    """The SDK exception for a network failure while downloading (chain ``exc`` as the cause),
    classified by the SDK's one outcome table."""
    error = _transport_error_of(exc, name, url)
    error._outcome = classify_exception(exc)
    return error


def _transport_error_of(exc: httpx.HTTPError, name: str, url: httpx.URL) -> SpineError:
    if isinstance(exc, httpx.TimeoutException):
        return SpineTimeoutError(
            f"Downloading artifact {name!r} from {url.host} timed out ({type(exc).__name__}). "
            "Retry, or pass a larger timeout."
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ArtifactDownloadError(
            f"Downloading artifact {name!r}: unsupported URL ({redact(exc)}).",
            artifact_name=name,
            url=_display_url(url),
        )
    return SpineConnectionError(
        sentence(
            f"Downloading artifact {name!r} from {url.host} failed: "
            f"{type(exc).__name__}: {redact(exc) or 'connection error'}",
            "Check the network and retry.",
        )
    )


def _timeout(timeout: httpx.Timeout | float | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(
            f"timeout must be a positive number of seconds or an httpx.Timeout, got {timeout!r}"
        )
    seconds = float(timeout)
    return httpx.Timeout(seconds, connect=min(10.0, seconds))


def _build_request(
    client: httpx.Client | httpx.AsyncClient, url: httpx.URL, timeout: httpx.Timeout
) -> httpx.Request:
    request = client.build_request("GET", url, headers=_REQUEST_HEADERS, timeout=timeout)
    for header in _CREDENTIAL_HEADERS:
        if header in request.headers:
            del request.headers[header]
    return request


# ----------------------------------------------------------------------------- the file side


def _open_temp(directory: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = directory / temp_name()
        try:
            fd = os.open(path, flags, 0o666)  # the umask applies, as for any new file
        except FileExistsError:
            continue
        return fd, path
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(directory))


def _place(temp: Path, final: Path, overwrite: bool) -> None:
    """Move the finished temporary file onto its final name, atomically."""
    if overwrite:
        os.replace(temp, final)
        return
    try:
        os.link(temp, final)  # fails if final exists: no window for a clobber
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file exists (overwrite=False)", str(final)) from None
    except OSError:  # no hard links on this file system
        if os.path.lexists(final):
            raise FileExistsError(
                errno.EEXIST, "file exists (overwrite=False)", str(final)
            ) from None
        os.replace(temp, final)
        return
    os.unlink(temp)


class _Transfer:
    """One download's file side: a temporary file, the size check, progress, the final rename.

    Both drivers use it the same way: :meth:`open` on a 2xx response, :meth:`feed` per chunk,
    :meth:`commit` at the end, and :meth:`abort` on any error (it is idempotent)."""

    def __init__(
        self,
        artifact: RunArtifact,
        final: Path,
        progress: ProgressCallback | None,
        overwrite: bool,
    ) -> None:
        self.name = artifact.name
        self.expected = artifact.size_bytes
        self.final = final
        self.progress = progress
        self.overwrite = overwrite
        self.check = SizeCheck(self.name, self.expected)
        self._file: IO[bytes] | None = None
        self._temp: Path | None = None

    def prepare(self) -> None:
        """Before any request: make the directory; refuse early if the file must not be replaced."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        if not self.overwrite and os.path.lexists(self.final):
            raise FileExistsError(errno.EEXIST, "file exists (overwrite=False)", str(self.final))

    def open(self, headers: Mapping[str, str]) -> None:
        self.check = SizeCheck(self.name, self.expected, _content_length(headers))
        self.check.begin()
        fd, self._temp = _open_temp(self.final.parent)
        self._file = os.fdopen(fd, "wb")
        self._report()

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.check.add(len(chunk))
        assert self._file is not None
        self._file.write(chunk)
        self._report()

    def commit(self) -> Path:
        self.check.finish()
        assert self._file is not None
        assert self._temp is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        _place(self._temp, self.final, self.overwrite)
        self._temp = None
        return self.final

    def abort(self) -> None:
        file, temp = self._file, self._temp
        self._file = self._temp = None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.check.received, self.check.total)


# ---------------------------------------------------------------------- retries, current links


class Source:
    """Where a run's artifacts came from: the runtime of the client that fetched the run. Its
    retry policy, clock and sleep drive a download's retries, and it can fetch the run again
    for its current links. Handles and ``client.runs.get`` attach one to every result they return
    (:func:`bind`); a result built by hand has none."""

    def __init__(self, runtime: Any, run_id: str, get_run: Callable[[str], Any]) -> None:
        self.runtime = runtime
        self.run_id = run_id
        self._get_run = get_run  # spine._operations.get_run, given by the caller (no cycle)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.runtime.call)

    def _op(self) -> Any:
        return self._get_run(self.run_id)

    def refresh(self) -> GetRunResponse:
        """``GET /v1/run/{run_id}`` on a sync client (its retries and errors)."""
        run: GetRunResponse = self.runtime.call(self._op())
        bind(run, self.runtime, self._get_run)
        return run

    async def arefresh(self) -> GetRunResponse:
        """The same from async code, on either kind of client."""
        if self.is_async:
            run: GetRunResponse = await self.runtime.call(self._op())
        else:
            run = await asyncio.to_thread(self.runtime.call, self._op())
        bind(run, self.runtime, self._get_run)
        return run


#: The source of each result and artifact a client returned, by object id; an entry leaves
#: with its object (a weakref finalizer), so nothing here keeps a result alive.
_SOURCES: dict[int, Source] = {}


def bind(run: GetRunResponse, runtime: Any, get_run: Callable[[str], Any]) -> None:
    """Remember which client fetched ``run`` (``runtime``, and ``get_run``, the operation that
    fetches it again): its result and artifacts then download under that client's retry policy
    and refresh expired links through it."""
    result = run.result
    if result is None:
        return
    source = Source(runtime, run.run_id, get_run)
    for obj in (result, *result.artifacts):
        key = id(obj)
        if key not in _SOURCES:
            weakref.finalize(obj, _SOURCES.pop, key, None)
        _SOURCES[key] = source


def source_of(obj: object) -> Source | None:
    """The :class:`Source` bound to a result or an artifact, or None."""
    return _SOURCES.get(id(obj))


class DownloadEvents:
    """What a batch download reports as it goes (all no-ops here; the command line draws its
    progress bars and notes with a subclass)."""

    def progress(self, artifact: RunArtifact, done: int, total: int | None) -> None:
        """Bytes of ``artifact`` written so far (from 0 again after a retry)."""

    def saved(self, artifact: RunArtifact, path: Path) -> None:
        """``artifact`` is complete at ``path``."""

    def retrying(self, artifact: RunArtifact, error: SpineError, delay: float) -> None:
        """A transient failure: the download starts again after ``delay`` seconds."""

    def refreshing(self, artifact: RunArtifact, error: ArtifactLinkExpiredError) -> None:
        """A link expired: the run is fetched again for its current links (once per batch)."""


class _Progress(DownloadEvents):
    def __init__(self, callback: ArtifactProgressCallback | None) -> None:
        self.callback = callback

    def progress(self, artifact: RunArtifact, done: int, total: int | None) -> None:
        if self.callback is not None:
            self.callback(artifact, done, total)


def _single(callback: ProgressCallback | None) -> DownloadEvents:
    return _Progress(None if callback is None else (lambda _a, done, total: callback(done, total)))


class Downloaded:
    """What a batch download did: ``paths`` written (in artifact order), the ``artifacts`` as
    downloaded (fresh ones where links were refreshed) and the refreshed ``run`` (or None)."""

    def __init__(
        self, paths: list[Path], artifacts: list[RunArtifact], run: GetRunResponse | None
    ) -> None:
        self.paths = paths
        self.artifacts = artifacts
        self.run = run


class _Plan:
    """The decisions of one download call (sans-I/O, shared by both drivers): when to retry a
    failure and after how long (the retry policy, the SDK's outcome table), and the one refresh
    of expired links through the run."""

    def __init__(
        self,
        source: Source | None,
        retry_policy: RetryPolicy | None,
        events: DownloadEvents | None,
        *,
        for_async: bool,
    ) -> None:
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise TypeError(
                f"retry_policy must be a RetryPolicy, not {type(retry_policy).__name__}"
            )
        runtime = source.runtime if source is not None else None
        self.source = source
        self.policy = retry_policy or (
            runtime.settings.retry_policy if runtime is not None else RetryPolicy()
        )
        self.rand: Callable[[], float] = (
            runtime.settings.rand if runtime is not None else random.random
        )
        # The client's sleep when it suits this driver (tests replace it), else the plain one.
        same_kind = source is not None and source.is_async == for_async
        self.sleep: Callable[[float], Any] = (
            runtime.sleep
            if same_kind and runtime is not None
            else (asyncio.sleep if for_async else time.sleep)
        )
        # A sync download cannot await an async client's refresh.
        self.can_refresh = source is not None and (for_async or not source.is_async)
        self.events = events or DownloadEvents()
        self.refreshed: GetRunResponse | None = None
        self.fresh: dict[str, RunArtifact] = {}

    def delay(self, error: BaseException, retries: int) -> float | None:
        """Seconds to wait before attempt ``retries + 2``, or None to give up: only what the
        outcome table retries for a GET, within ``max_retries``."""
        rule = rule_of(error)
        if rule is None or not rule.retry_read or retries >= self.policy.max_retries:
            return None
        retry_after = getattr(error, "_retry_after", None)
        return compute_delay(self.policy, retries, retry_after, self.rand)

    def current(self, artifact: RunArtifact) -> RunArtifact:
        """``artifact``, or its fresh twin once the links were refreshed."""
        return self.fresh.get(artifact.id, artifact)

    def may_refresh(self) -> bool:
        return self.can_refresh and self.refreshed is None

    def take(self, run: GetRunResponse) -> None:
        self.refreshed = run
        self.fresh = {a.id: a for a in (run.result.artifacts if run.result else [])}

    # The steps of one download's retry loop; each driver only does the I/O between them.

    def transfer(self, artifact: RunArtifact, target: Path, overwrite: bool) -> _Transfer:
        """The file side of one attempt, its progress reported as ``artifact``'s."""

        def report(done: int, total: int | None) -> None:
            self.events.progress(artifact, done, total)

        return _Transfer(artifact, target, report, overwrite)

    def wants_refresh(self, artifact: RunArtifact, expired: ArtifactLinkExpiredError) -> bool:
        """After ``expired``: whether the driver must fetch the run again now (once per call;
        not when another download of the call already did)."""
        if self.current(artifact) is artifact and self.may_refresh():
            self.events.refreshing(artifact, expired)
            return True
        return False

    def renewed(self, artifact: RunArtifact, expired: ArtifactLinkExpiredError) -> RunArtifact:
        """The fresh twin of ``artifact`` to download next; raises ``expired`` when there is
        none (refreshed already, or it cannot be: the link is gone for good)."""
        fresh = self.current(artifact)
        if fresh is artifact:
            raise expired
        return fresh

    def backoff(self, artifact: RunArtifact, error: SpineError, retries: int) -> float:
        """Seconds to sleep before the next attempt; raises ``error`` when it is not retried."""
        delay = self.delay(error, retries)
        if delay is None:
            raise error
        self.events.retrying(artifact, error, delay)
        return delay

    def saved(self, artifact: RunArtifact, path: Path) -> tuple[Path, RunArtifact]:
        self.events.saved(artifact, path)
        return path, artifact

    def refresh(self) -> None:
        """Fetch the run again (a sync source) for its current links."""
        assert self.source is not None
        self.take(self.source.refresh())

    async def arefresh(self) -> None:
        """Fetch the run again, from async code."""
        assert self.source is not None
        self.take(await self.source.arefresh())


# ----------------------------------------------------------------------------- sync driver


def _read_excerpt(response: httpx.Response) -> bytes:
    data = bytearray()
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= _EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass
    return bytes(data[:_EXCERPT_BYTES])


def _fetch(
    client: httpx.Client, artifact: RunArtifact, transfer: _Transfer, timeout: httpx.Timeout
) -> Path:
    redirects = _Redirects(_parse_url(artifact.download_url, artifact.name), artifact.name)
    transfer.prepare()
    try:
        while True:
            request = _build_request(client, redirects.url, timeout)
            response = client.send(request, stream=True, follow_redirects=False, auth=None)
            try:
                if redirects.follow(response.status_code, response.headers):
                    continue
                if not response.is_success:
                    body = _read_excerpt(response)
                    raise _status_error(
                        response.status_code, body, artifact.name, redirects.url, response.headers
                    )
                transfer.open(response.headers)
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    transfer.feed(chunk)
                return transfer.commit()
            finally:
                response.close()
    except httpx.HTTPError as exc:
        transfer.abort()
        raise _transport_error(exc, artifact.name, redirects.url) from exc
    except BaseException:
        transfer.abort()
        raise


def _sync_client(http_client: httpx.Client | None) -> tuple[httpx.Client, bool]:
    if http_client is None:
        return httpx.Client(follow_redirects=False, timeout=DEFAULT_TIMEOUT), True
    if not isinstance(http_client, httpx.Client):
        raise TypeError(f"http_client must be an httpx.Client, not {type(http_client).__name__}")
    return http_client, False


def _download(
    client: httpx.Client,
    artifact: RunArtifact,
    target: Path,
    overwrite: bool,
    limits: httpx.Timeout,
    plan: _Plan,
) -> tuple[Path, RunArtifact]:
    """One artifact, with retries and the batch's one refresh; the path and the artifact as
    downloaded (its fresh twin after a refresh)."""
    artifact = plan.current(artifact)
    retries = 0
    while True:
        try:
            path = _fetch(client, artifact, plan.transfer(artifact, target, overwrite), limits)
        except ArtifactLinkExpiredError as expired:
            if plan.wants_refresh(artifact, expired):
                plan.refresh()
            artifact, retries = plan.renewed(artifact, expired), 0
        except SpineError as error:
            plan.sleep(plan.backoff(artifact, error, retries))
            retries += 1
        else:
            return plan.saved(artifact, path)


def download_artifact(
    artifact: RunArtifact,
    dest: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    http_client: httpx.Client | None = None,
    timeout: httpx.Timeout | float | None = None,
    overwrite: bool = True,
    retry_policy: RetryPolicy | None = None,
) -> Path:
    """Download one artifact; see :meth:`spine.RunArtifact.download`."""
    target = _resolve_target(dest, artifact)
    limits = _timeout(timeout)
    plan = _Plan(source_of(artifact), retry_policy, _single(progress), for_async=False)
    client, owned = _sync_client(http_client)
    try:
        return _download(client, artifact, target, overwrite, limits, plan)[0]
    finally:
        if owned:
            client.close()


def _prepare_directory(directory: str | os.PathLike[str]) -> Path:
    path = Path(os.fspath(directory))
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_batch(
    artifacts: Sequence[RunArtifact],
    directory: str | os.PathLike[str],
    *,
    source: Source | None = None,
    events: DownloadEvents | None = None,
    http_client: httpx.Client | None = None,
    timeout: httpx.Timeout | float | None = None,
    overwrite: bool = True,
    retry_policy: RetryPolicy | None = None,
) -> Downloaded:
    """Download every artifact into ``directory``, one after another: the one mechanism behind
    :meth:`spine.RunResult.download_all` and ``spine download``. Transient failures (a 5xx, 408
    or 429 from the storage host, a dropped connection, a timeout) are retried under the retry
    policy (``retry_policy``, else the client's that fetched the run, else ``RetryPolicy()``);
    an expired link (403/404/410) makes it fetch the run again, once per batch, and carry on
    with the links of that read (only with a ``source``)."""
    folder = _prepare_directory(directory)
    targets = [folder / name for name in plan_names(artifacts)]
    limits = _timeout(timeout)
    plan = _Plan(source, retry_policy, events, for_async=False)
    client, owned = _sync_client(http_client)
    paths: list[Path] = []
    done: list[RunArtifact] = []
    try:
        for artifact, target in zip(artifacts, targets, strict=True):
            path, used = _download(client, artifact, target, overwrite, limits, plan)
            paths.append(path)
            done.append(used)
    finally:
        if owned:
            client.close()
    return Downloaded(paths, done, plan.refreshed)


def download_artifacts(
    artifacts: Sequence[RunArtifact],
    directory: str | os.PathLike[str],
    *,
    progress: ArtifactProgressCallback | None = None,
    **options: Any,
) -> Downloaded:
    """Download every artifact into ``directory``; see :meth:`spine.RunResult.download_all`:
    :func:`download_batch` (its ``options``) with a ``progress`` callback."""
    return download_batch(artifacts, directory, events=_Progress(progress), **options)


# ----------------------------------------------------------------------------- async driver


async def _aread_excerpt(response: httpx.Response) -> bytes:
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= _EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass
    return bytes(data[:_EXCERPT_BYTES])


async def _afetch(
    client: httpx.AsyncClient,
    artifact: RunArtifact,
    transfer: _Transfer,
    timeout: httpx.Timeout,
) -> Path:
    redirects = _Redirects(_parse_url(artifact.download_url, artifact.name), artifact.name)
    transfer.prepare()
    try:
        while True:
            request = _build_request(client, redirects.url, timeout)
            response = await client.send(request, stream=True, follow_redirects=False, auth=None)
            try:
                if redirects.follow(response.status_code, response.headers):
                    continue
                if not response.is_success:
                    body = await _aread_excerpt(response)
                    raise _status_error(
                        response.status_code, body, artifact.name, redirects.url, response.headers
                    )
                transfer.open(response.headers)
                async for chunk in response.aiter_bytes(CHUNK_SIZE):
                    transfer.feed(chunk)
                # fsync and rename can block on a slow disk: keep them off the event loop.
                return await asyncio.to_thread(transfer.commit)
            finally:
                await response.aclose()
    except httpx.HTTPError as exc:
        transfer.abort()
        raise _transport_error(exc, artifact.name, redirects.url) from exc
    except BaseException:
        transfer.abort()
        raise


def _async_client(http_client: httpx.AsyncClient | None) -> tuple[httpx.AsyncClient, bool]:
    if http_client is None:
        return httpx.AsyncClient(follow_redirects=False, timeout=DEFAULT_TIMEOUT), True
    if not isinstance(http_client, httpx.AsyncClient):
        raise TypeError(
            f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}"
        )
    return http_client, False


async def _adownload(
    client: httpx.AsyncClient,
    artifact: RunArtifact,
    target: Path,
    overwrite: bool,
    limits: httpx.Timeout,
    plan: _Plan,
    lock: asyncio.Lock,
) -> tuple[Path, RunArtifact]:
    """See :func:`_download`; concurrent downloads share the one refresh through ``lock``."""
    artifact = plan.current(artifact)
    retries = 0
    while True:
        try:
            transfer = plan.transfer(artifact, target, overwrite)
            path = await _afetch(client, artifact, transfer, limits)
        except ArtifactLinkExpiredError as expired:
            async with lock:
                if plan.wants_refresh(artifact, expired):
                    await plan.arefresh()
            artifact, retries = plan.renewed(artifact, expired), 0
        except SpineError as error:
            await plan.sleep(plan.backoff(artifact, error, retries))
            retries += 1
        else:
            return plan.saved(artifact, path)


async def adownload_artifact(
    artifact: RunArtifact,
    dest: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: httpx.Timeout | float | None = None,
    overwrite: bool = True,
    retry_policy: RetryPolicy | None = None,
) -> Path:
    """Download one artifact; see :meth:`spine.RunArtifact.adownload`."""
    target = _resolve_target(dest, artifact)
    limits = _timeout(timeout)
    plan = _Plan(source_of(artifact), retry_policy, _single(progress), for_async=True)
    client, owned = _async_client(http_client)
    try:
        lock = asyncio.Lock()
        return (await _adownload(client, artifact, target, overwrite, limits, plan, lock))[0]
    finally:
        if owned:
            await client.aclose()


async def adownload_batch(
    artifacts: Sequence[RunArtifact],
    directory: str | os.PathLike[str],
    *,
    source: Source | None = None,
    events: DownloadEvents | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: httpx.Timeout | float | None = None,
    overwrite: bool = True,
    retry_policy: RetryPolicy | None = None,
    concurrency: int = 4,
) -> Downloaded:
    """The async twin of :func:`download_batch`: ``concurrency`` downloads at a time. On the
    first failure the others are cancelled (each removes its temporary file)."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
    folder = _prepare_directory(directory)
    targets = [folder / name for name in plan_names(artifacts)]
    limits = _timeout(timeout)
    plan = _Plan(source, retry_policy, events, for_async=True)
    client, owned = _async_client(http_client)
    gate = asyncio.Semaphore(concurrency)
    lock = asyncio.Lock()

    async def one(artifact: RunArtifact, target: Path) -> tuple[Path, RunArtifact]:
        async with gate:
            return await _adownload(client, artifact, target, overwrite, limits, plan, lock)

    tasks = [asyncio.ensure_future(one(a, t)) for a, t in zip(artifacts, targets, strict=True)]
    try:
        done = list(await asyncio.gather(*tasks))
    except BaseException:
        # One failed (or we were cancelled): stop the others; each removes its temporary file.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        if owned:
            await client.aclose()
    return Downloaded([p for p, _ in done], [a for _, a in done], plan.refreshed)


async def adownload_artifacts(
    artifacts: Sequence[RunArtifact],
    directory: str | os.PathLike[str],
    *,
    progress: ArtifactProgressCallback | None = None,
    **options: Any,
) -> Downloaded:
    """Download every artifact, ``concurrency`` at a time; see
    :meth:`spine.RunResult.adownload_all`: :func:`adownload_batch` (its ``options``) with a
    ``progress`` callback."""
    return await adownload_batch(artifacts, directory, events=_Progress(progress), **options)
