"""Worker: process start to the first ``runs.get`` answer, in a fresh interpreter.

``python first_call.py FLAVOR URL API_KEY RUN_ID``: import the client, build it, fetch the run
once, then print the CPU time the whole process has used so far (``time.process_time``: user +
system, interpreter start-up included) at three points: after the import, after building the
client and after the answer. Nothing else is imported before the answer (not even this
directory's helpers), so the figure is what a script that makes one call pays.

``ours`` and ``official``: ``import spine``, ``spine.SpineClient(api_key=, base_url=)``,
``client.runs.get(run_id)``. ``raw``: ``import httpx``, ``httpx.Client(base_url=, headers=)``,
``get``, ``raise_for_status()``, ``json()["data"]``.
"""

import sys
import time


def main() -> int:
    flavor, url, api_key, run_id = sys.argv[1:5]
    if flavor == "raw":
        import httpx

        imported = time.process_time()
        http = httpx.Client(
            base_url=url + "/v1",
            headers={"X-API-KEY": api_key, "Accept": "application/json"},
            timeout=60.0,
        )
        built = time.process_time()
        response = http.get(f"/run/{run_id}")
        response.raise_for_status()
        status = response.json()["data"]["status"]
    else:
        import spine

        imported = time.process_time()
        client = spine.SpineClient(api_key=api_key, base_url=url)
        built = time.process_time()
        status = client.runs.get(run_id).status
    answered = time.process_time()

    import json

    print(json.dumps({
        "status": str(getattr(status, "value", status)),
        "cpu_ms": {"import": imported * 1e3, "client": built * 1e3, "answer": answered * 1e3},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
