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


# ----------------------------------------------------------------------------- the collector
# Loading the first public name pauses Python's cyclic garbage collector and files what the
# import made with the old objects (spine/__init__.py). These probes prove each promise of that
# in a fresh interpreter: the collector's state is given back, nothing the process froze is
# released, and the import's objects really end in the oldest generation.


def _probe(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", "import gc, json, sys\n" + code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answer: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


def test_loading_a_name_files_the_import_with_the_old_objects_and_reenables_the_collector() -> (
    None
):
    answer = _probe(
        "import spine, spine._loader, threading  # the light part, loaded before counting\n"
        "def collections():\n"
        "    return sum(generation['collections'] for generation in gc.get_stats())\n"
        "before = collections()\n"
        "spine.SpineClient\n"
        "print(json.dumps({'enabled': gc.isenabled(), 'collections': collections() - before,"
        " 'young': len(gc.get_objects(0)), 'old': len(gc.get_objects(2)),"
        " 'frozen': gc.get_freeze_count(), 'pydantic': 'pydantic' in sys.modules}))"
    )
    assert answer["pydantic"] is True  # the probe did load the heavy part
    assert answer["collections"] == 0  # no walk while the import ran (dozens without the pause)
    assert answer["enabled"] is True
    assert answer["frozen"] == 0  # unfrozen again: nothing is kept out of later collections
    # Tens of thousands of objects were made and none was walked, yet none of them waits in
    # the youngest generation (where the next collection would walk them all).
    assert isinstance(answer["old"], int) and answer["old"] > 20_000, answer
    assert isinstance(answer["young"], int) and answer["young"] < 1_000, answer


def test_a_collector_the_process_switched_off_stays_off() -> None:
    answer = _probe(
        "gc.disable()\n"
        "import spine\n"
        "spine.SpineClient\n"
        "print(json.dumps({'enabled': gc.isenabled()}))"
    )
    assert answer == {"enabled": False}


def test_objects_the_process_froze_stay_frozen() -> None:
    # A pre-forking server freezes its objects so that children do not copy them; unfreezing
    # them would undo that, so the SDK leaves the collector alone in such a process.
    answer = _probe(
        "kept = [[] for _ in range(1000)]\n"
        "gc.freeze()\n"
        "frozen = gc.get_freeze_count()\n"
        "import spine\n"
        "spine.SpineClient\n"
        "print(json.dumps({'before': frozen, 'after': gc.get_freeze_count(),"
        " 'enabled': gc.isenabled()}))"
    )
    before, after = answer["before"], answer["after"]
    assert isinstance(before, int) and isinstance(after, int) and before > 1000
    # Frozen objects may still die by reference counting, so the count can only fall a little:
    # an unfreeze would have made it 0, a freeze of the import tens of thousands more.
    assert before * 0.9 <= after <= before, answer
    assert answer["enabled"] is True


def test_the_collector_comes_back_on_when_the_import_fails() -> None:
    # httpx made unimportable: loading the client fails, and the collector must still be on.
    answer = _probe(
        "sys.modules['httpx'] = None\n"
        "import spine\n"
        "try:\n"
        "    spine.SpineClient\n"
        "except ImportError:\n"
        "    error = 'ImportError'\n"
        "else:\n"
        "    error = None\n"
        "print(json.dumps({'error': error, 'enabled': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))"
    )
    assert answer == {"error": "ImportError", "enabled": True, "frozen": 0}


def _collections_during(code: str, before: str = "") -> dict[str, object]:
    return _probe(
        before + "import spine, spine._loader, threading\n"
        "def collections():\n"
        "    return sum(generation['collections'] for generation in gc.get_stats())\n"
        "start = collections()\n"
        + code
        + "print(json.dumps({'collections': collections() - start, 'enabled': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))"
    )


def test_with_another_thread_running_the_collector_is_left_alone() -> None:
    # Another thread could switch the collector off or freeze objects during the load: the
    # SDK does not touch the collector then, and the import is collected as usual.
    answer = _collections_during(
        "spine.SpineClient\n"
        "release.set()\n",
        before="import threading\n"
        "release = threading.Event()\n"
        "threading.Thread(target=release.wait).start()\n",
    )
    assert isinstance(answer["collections"], int) and answer["collections"] > 0, answer
    assert answer["enabled"] is True and answer["frozen"] == 0


def test_a_thread_started_with_the_low_level_module_counts_too() -> None:
    # threading.active_count() does not see a thread started with _thread.start_new_thread.
    answer = _collections_during(
        "spine.SpineClient\n"
        "release.release()\n",
        before="import _thread\n"
        "release = _thread.allocate_lock()\n"
        "release.acquire()\n"
        "_thread.start_new_thread(lambda: (release.acquire(), release.release()), ())\n",
    )
    assert isinstance(answer["collections"], int) and answer["collections"] > 0, answer
    assert answer["enabled"] is True and answer["frozen"] == 0


def test_a_light_name_first_still_leaves_the_heavy_load_uncollected() -> None:
    answer = _collections_during(
        "spine.RunStatus\n"
        "assert 'pydantic' not in sys.modules\n"
        "start = collections()\n"
        "spine.SpineClient\n"
    )
    assert answer == {"collections": 0, "enabled": True, "frozen": 0}


def test_names_loaded_after_httpx_and_pydantic_leave_young_garbage_young() -> None:
    # Once the heavy half is in, a later name (here RunHandle, whose module is not loaded yet)
    # loads with a plain import: garbage made just before is still freed by a young collection.
    answer = _probe(
        "import spine, weakref\n"
        "spine.SpineClient\n"
        "assert 'spine._handle' not in sys.modules\n"
        "class Node:\n"
        "    pass\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"
        "alive = weakref.ref(a)\n"
        "del a, b\n"
        "spine.RunHandle\n"
        "gc.collect(0)\n"
        "print(json.dumps({'freed': alive() is None}))"
    )
    assert answer == {"freed": True}
