"""The Spine Python SDK.

    from spine import SpineClient, Template

    with SpineClient() as client:                     # reads SPINE_API_KEY
        run = client.runs.create("Create a Q1 report", template=Template.REPORT)
        result = run.wait()
        print(result.final_output)

Names are loaded on first use, so ``import spine`` stays fast; ``__all__`` lists the public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine._version import __version__ as __version__

if TYPE_CHECKING:
    from spine._client import (
        AsyncSpineClient as AsyncSpineClient,
        SpineClient as SpineClient,
    )
    from spine._enums import (
        BlockType as BlockType,
        RunStatus as RunStatus,
        TaskType as TaskType,
        Template as Template,
    )
    from spine._handle import (
        AsyncRunHandle as AsyncRunHandle,
        RunHandle as RunHandle,
    )
    from spine._links import (
        canvas_url as canvas_url,
    )
    from spine._operations import (
        check_create as check_create,
    )
    from spine._retry import (
        RetryPolicy as RetryPolicy,
    )

    # The exceptions and the models are written out once, in their public modules.
    from spine.exceptions import *  # noqa: F403
    from spine.models import *  # noqa: F403

from spine._public import PUBLIC

_EXPORTS: dict[str, str] = {name: module for module, names in PUBLIC.items() for name in names}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spine' has no attribute {name!r}")
    from spine._loader import load

    value = getattr(load(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
