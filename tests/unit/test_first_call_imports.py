"""The first ``runs.get`` of a process builds and imports only what that call needs.

Each probe runs in a fresh interpreter and reports which modules the step loaded. The CPU
figure itself is a benchmark (``nox -s bench -- --only first``), never a timed test.
"""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(setup: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(setup=setup)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_building_a_get_request_loads_no_generated_model_client_or_attrs() -> None:
    loaded = _loaded(
        "from spine import _operations\n"
        "op = _operations.get_run('3f2a9c1e-0000-4000-8000-000000000001')\n"
        "assert op.kwargs['url'] == '/v1/run/3f2a9c1e-0000-4000-8000-000000000001', op.kwargs"
    )
    assert "_spine_openapi.api.runs.get_run" in loaded  # the request still comes from it
    unwanted = {"attr", "attrs", "_spine_openapi.client", "_spine_openapi.models"}
    assert not loaded & unwanted, sorted(loaded & unwanted)


def test_building_a_create_request_still_uses_the_generated_models() -> None:
    loaded = _loaded(
        "from spine import _operations\n"
        "op = _operations.create_run('a prompt', template='auto', blocks=None,"
        " agent_instructions=None, webhook_url=None, files=None, idempotency_key=None)\n"
        "assert op.kwargs['url'] == '/v1/run', op.kwargs"
    )
    assert "_spine_openapi.models.create_run_request" in loaded
