"""API keys are registered for redaction per client and released with it (the registry does not
grow with every client a long-lived process makes)."""

from __future__ import annotations

import gc

import spine
from spine._redact import redact, registered_secrets

KEY = "plainkey-without-prefix-0123456789"


def test_a_client_registers_its_key_and_releases_it_when_collected() -> None:
    client = spine.SpineClient(api_key=KEY, base_url="http://127.0.0.1:9")
    assert KEY in registered_secrets()
    assert KEY not in redact(f"echo {KEY}")
    client.close()
    del client
    gc.collect()
    assert KEY not in registered_secrets()
    assert KEY in redact(f"echo {KEY}")  # no longer a secret of any live client


def test_two_clients_sharing_a_key_keep_it_until_both_are_gone() -> None:
    first = spine.SpineClient(api_key=KEY, base_url="http://127.0.0.1:9")
    second = spine.AsyncSpineClient(api_key=KEY, base_url="http://127.0.0.1:9")
    del first
    gc.collect()
    assert KEY in registered_secrets()
    del second
    gc.collect()
    assert KEY not in registered_secrets()


def test_a_handle_keeps_the_key_registered_after_its_client_is_dropped() -> None:
    handle = spine.SpineClient(api_key=KEY, base_url="http://127.0.0.1:9").runs.attach(
        "00000000-0000-4000-8000-000000000000"
    )
    gc.collect()
    assert KEY in registered_secrets()  # the handle can still send with it
    del handle
    gc.collect()
    assert KEY not in registered_secrets()


def test_many_clients_do_not_grow_the_registry() -> None:
    before = len(registered_secrets())
    for n in range(20):
        spine.SpineClient(api_key=f"{KEY}-{n}", base_url="http://127.0.0.1:9")
    gc.collect()
    assert len(registered_secrets()) == before
