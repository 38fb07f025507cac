"""The API operations as pure request descriptions.

Each builder checks its arguments (bad input fails here, before any request is sent), asks the
generated endpoint module for the request (method, path, encoding: they come only from the
spec) and returns an :class:`Operation`: what to send, which model the answer parses into, and
whether the request may be repeated safely. The sync and async clients send the same
operations, so nothing here is written twice.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from spine._enums import BlockType, Template
from spine._exceptions import InvalidRequestError
from spine._models import CreateRunResponse, GetRunResponse

if TYPE_CHECKING:
    from pydantic import BaseModel

    from spine._canvas_models import CanvasDAG, TaskNode, TaskTree
    from spine._files import FileInput, UploadFile

T = TypeVar("T", bound="BaseModel")

__all__ = ["Operation", "check_create", "check_id", "is_uuid"]


class Operation(Generic[T]):
    """One request to send and how to read its answer.

    A plain class rather than a dataclass: building a dataclass costs about 0.3 ms of CPU at
    import, and this module is on the path of every process's first call.
    """

    __slots__ = ("expect", "files", "idempotency_key", "idempotent", "kwargs", "model", "uuids")

    def __init__(
        self,
        kwargs: dict[str, Any],
        model: type[T],
        idempotent: bool = True,
        files: list[UploadFile] | None = None,
        idempotency_key: str | None = None,
        expect: tuple[tuple[str, str], ...] = (),
        uuids: tuple[str, ...] = (),
    ) -> None:
        self.kwargs = kwargs
        self.model = model
        self.idempotent = idempotent
        self.files: list[UploadFile] = [] if files is None else files
        self.idempotency_key = idempotency_key
        #: (field, value) pairs the answer must carry: the ids the request asked for.
        self.expect = expect
        #: Fields of the answer that must be UUIDs (the id a create hands back, to poll with).
        self.uuids = uuids

    def __repr__(self) -> str:
        return (
            f"Operation({self.kwargs.get('method')!r} {self.kwargs.get('url')!r},"
            f" model={self.model.__name__}, idempotent={self.idempotent})"
        )


_UUID_RE = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_SHOWN_ID_CHARS = 60


def check_id(value: object, name: str) -> uuid.UUID:
    """An id the spec declares as a UUID (``run_id``, ``canvas_id``, ``task_id``: ``string<uuid>``
    path parameters, reference §1 and §2) must be one: a :class:`uuid.UUID`, or a string in the
    canonical form ``550e8400-e29b-41d4-a716-446655440000`` (either case). Anything else raises
    :class:`InvalidRequestError` before any request (the API would answer 400, "must be a valid
    UUID"); a value that is not a str or UUID raises ``TypeError``. The UUID is sent in its
    canonical lower-case form, which is always exactly one path segment."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or uuid.UUID, not {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError(f"{name} must not be empty")
    if _UUID_RE.fullmatch(value) is None:
        shown = value if len(value) <= _SHOWN_ID_CHARS else value[:_SHOWN_ID_CHARS] + "\u2026"
        raise InvalidRequestError(
            f"{name} {shown!r} is not a valid id: Spine ids are UUIDs such as"
            " 550e8400-e29b-41d4-a716-446655440000"
        )
    return uuid.UUID(value)


def is_uuid(value: object) -> bool:
    """True for a str in the canonical UUID form (either case)."""
    return isinstance(value, str) and _UUID_RE.fullmatch(value) is not None


def _check_encodable(value: str, name: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            f"{name} is not valid Unicode text: it holds a lone surrogate"
            f" ({value[exc.start]!r} at position {exc.start}); check how it was decoded"
        ) from None


def get_run(run_id: str | uuid.UUID) -> Operation[GetRunResponse]:
    from _spine_openapi.api.runs import get_run as endpoint

    checked = check_id(run_id, "run_id")
    kwargs = endpoint._get_kwargs(checked)
    return Operation(kwargs, GetRunResponse, expect=(("run_id", str(checked)),))


def get_dag(canvas_id: str | uuid.UUID) -> Operation[CanvasDAG]:
    from _spine_openapi.api.canvas import get_canvas_dag as endpoint

    from spine._canvas_models import CanvasDAG

    checked = check_id(canvas_id, "canvas_id")
    kwargs = endpoint._get_kwargs(checked)
    return Operation(kwargs, CanvasDAG, expect=(("canvas_id", str(checked)),))


def get_tasks(canvas_id: str | uuid.UUID) -> Operation[TaskTree]:
    from _spine_openapi.api.canvas import get_canvas_tasks as endpoint

    from spine._canvas_models import TaskTree

    checked = check_id(canvas_id, "canvas_id")
    kwargs = endpoint._get_kwargs(checked)
    return Operation(kwargs, TaskTree, expect=(("canvas_id", str(checked)),))


def get_task(canvas_id: str | uuid.UUID, task_id: str | uuid.UUID) -> Operation[TaskNode]:
    from _spine_openapi.api.canvas import get_canvas_task as endpoint

    from spine._canvas_models import TaskNode

    canvas = check_id(canvas_id, "canvas_id")
    task = check_id(task_id, "task_id")
    kwargs = endpoint._get_kwargs(canvas, task)
    return Operation(kwargs, TaskNode, expect=(("task_id", str(task)),))


def _check_text(value: object, name: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise InvalidRequestError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if required and not value.strip():
        raise InvalidRequestError(f"{name} must not be empty")
    # Sent exactly as given, UTF-8 encoded: any text, control characters included; only a lone
    # surrogate (which no encoding can carry) is refused.
    _check_encodable(value, name)
    return value


def _template(value: object) -> str:
    if isinstance(value, Template):
        return value.value
    if not isinstance(value, str):
        raise TypeError(f"template must be a Template or a str, not {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError("template must not be empty (omit it to use 'auto')")
    _check_encodable(value, "template")
    return value


def _blocks(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(
            "blocks must be a list of BlockType members or block-type strings, "
            f"such as [BlockType.TABLE, 'web-block'], not {type(value).__name__}"
        )
    items: list[str] = []
    for item in value:
        if isinstance(item, BlockType):
            items.append(item.value)
        elif isinstance(item, str) and item.strip():
            items.append(item)
        else:
            raise TypeError(f"every block must be a BlockType or a non-empty str, got {item!r}")
    if not items:
        raise InvalidRequestError(
            "blocks must not be empty: omit blocks (or pass None) to use the template's blocks"
        )
    return json.dumps(items, separators=(",", ":"))


def create_run(
    prompt: str,
    *,
    template: Template | str,
    blocks: Iterable[BlockType | str] | None,
    agent_instructions: str | None,
    webhook_url: str | None,
    files: FileInput | Iterable[FileInput] | None,
    idempotency_key: str | None,
) -> Operation[CreateRunResponse]:
    """Check the input, open the files and build ``POST /v1/run``.

    The caller must close the operation's files (``Operation.files``) once it is sent: the SDK
    closes what it opened and never what the caller opened.
    """
    from _spine_openapi.api.runs import create_run as endpoint
    from _spine_openapi.models import CreateRunRequest, Template as GenTemplate
    from _spine_openapi.types import UNSET, File

    from spine._files import normalize_files

    text = _check_text(prompt, "prompt", required=True)
    assert text is not None
    template_value = _template(template)
    blocks_json = _blocks(blocks)
    instructions = _check_text(agent_instructions, "agent_instructions", required=False)
    hook = _check_text(webhook_url, "webhook_url", required=False)
    if idempotency_key is None:
        key = str(uuid.uuid4())
    else:
        key = _check_text(idempotency_key, "idempotency_key", required=True) or ""
        if len(key) > 255 or not key.isprintable() or not key.isascii():
            raise InvalidRequestError("idempotency_key must be 1 to 255 printable ASCII characters")

    uploads = normalize_files(files)  # opens paths: fails here for a missing/unreadable file
    try:
        body = CreateRunRequest(
            prompt=text,
            # A template the generated enum does not know yet is still sent as given.
            template=(
                GenTemplate(template_value)
                if template_value in GenTemplate._value2member_map_
                else _RawTemplate(template_value)  # type: ignore[arg-type]
            ),
            blocks=UNSET if blocks_json is None else blocks_json,
            agent_instructions=UNSET if instructions is None else instructions,
            webhook_url=UNSET if hook is None else hook,
            files=(
                [
                    File(payload=u.stream, file_name=u.filename, mime_type=u.content_type)
                    for u in uploads
                ]
                if uploads
                else UNSET
            ),
        )
        kwargs = endpoint._get_kwargs(body=body, idempotency_key=key)
    except BaseException:
        for upload in uploads:
            if upload.owned:
                upload.stream.close()
        raise
    # The generated module pins the multipart boundary to "+++", which corrupts a form whose
    # file holds that line. Without the header httpx draws a random boundary per request.
    headers: dict[str, str] = kwargs["headers"]
    headers.pop("Content-Type", None)
    return Operation(
        kwargs,
        CreateRunResponse,
        idempotent=False,
        files=uploads,
        idempotency_key=key,
        uuids=("run_id",),
    )


def check_create(
    prompt: str,
    *,
    template: Template | str = Template.AUTO,
    blocks: Iterable[BlockType | str] | None = None,
    agent_instructions: str | None = None,
    webhook_url: str | None = None,
    files: FileInput | Iterable[FileInput] | None = None,
    idempotency_key: str | None = None,
) -> None:
    """Check the arguments of ``client.runs.create`` without sending anything.

    Takes exactly the arguments of ``runs.create`` (``prompt`` and the same keywords with the
    same defaults) and runs the same checks (the same code, in the same order), so that work
    can be refused before any run is paid for: for example each line of a batch before the
    first is sent. Files given as paths are opened to check them and closed again; file objects
    you pass are left open.

    Returns None when ``runs.create`` would send the request. Raises what ``runs.create`` would
    raise before sending: :class:`spine.InvalidRequestError` (an empty or blank prompt, an
    empty ``blocks``, a malformed ``idempotency_key``, a file that is not a regular file...),
    ``TypeError`` (a value of the wrong type), ``FileNotFoundError`` / ``PermissionError`` (a
    path that cannot be read). What only the server can refuse (an unknown template or block,
    a file over the API's size limit) is not checked here.

    One difference: ``files`` or ``blocks`` given as a one-shot iterator (a generator, ``map``,
    ``iter(...)``) raises ``TypeError`` here, because checking it would use it up and the
    ``runs.create`` that follows would then get nothing; pass a list or a tuple.
    """
    from spine._files import close_uploads

    for name, value in (("files", files), ("blocks", blocks)):
        if _one_shot(value):
            raise TypeError(
                f"check_create would use up {name} (a one-shot iterator: "
                f"{type(value).__name__}), and runs.create would then get none: pass a list"
            )

    operation = create_run(
        prompt,
        template=template,
        blocks=blocks,
        agent_instructions=agent_instructions,
        webhook_url=webhook_url,
        files=files,
        idempotency_key=idempotency_key,
    )
    close_uploads(operation.files)


def _one_shot(value: object) -> bool:
    """An iterator that is used up by going through it once (a generator, ``map``...), as
    opposed to a collection or a single file, path, or ``(name, data)`` entry."""
    if value is None or isinstance(value, str | bytes | bytearray | memoryview | tuple | list):
        return False
    if callable(getattr(value, "read", None)):  # a file object: one file, read by create
        return False
    try:
        return iter(value) is value  # type: ignore[call-overload]
    except TypeError:
        return False


class _RawTemplate:
    """Stands in for a generated ``Template`` member for a value the spec does not list yet."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value
