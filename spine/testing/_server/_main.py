"""Run the Spine sandbox in the foreground: ``python -m spine.testing`` or ``spine sandbox``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spine.testing._server._faults import RequestRecord
    from spine.testing._server._sandbox import Sandbox

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  spine sandbox --port 8765
  spine sandbox --run-duration 10 --api-key sk_spine_dev
  spine sandbox --config sandbox.toml
  spine sandbox --fault "POST /v1/run status=429 retry_after=2"
  spine sandbox --fault "GET /v1/run/* status=503 times=2"
  spine sandbox --run-duration manual    # runs never finish on their own

then point a client at it:
  export SPINE_BASE_URL=http://127.0.0.1:8765 SPINE_API_KEY=sk_spine_sandbox
"""


def build_parser(prog: str = "python -m spine.testing") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local sandbox that behaves like the Spine API (runs finish in "
        "seconds, with real artifact files).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8765; 0 = any)")
    parser.add_argument("--config", type=Path, metavar="FILE", help="a TOML config file")
    parser.add_argument(
        "--run-duration",
        metavar="SECONDS",
        help="seconds from creation to the end of a run (default 3), or 'manual'",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept this API key (repeatable; default: any key starting with sk_spine_)",
    )
    parser.add_argument("--tasks", type=int, help="tasks per run")
    parser.add_argument("--max-file-size", metavar="SIZE", help="per-file upload limit, e.g. 50MiB")
    parser.add_argument(
        "--outcome",
        action="append",
        dest="outcomes",
        choices=["completed", "partial", "failed"],
        help="outcome of the next run created (repeatable, in order)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        dest="faults",
        metavar="SPEC",
        help="inject a fault, e.g. \"POST /v1/run status=429 retry_after=2 times=1\" (repeatable)",
    )
    parser.add_argument(
        "--canvas-id-after-polls",
        type=int,
        metavar="N",
        help="omit canvas_id from the create response and the first N polls",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from spine.testing._server._config import (
        parse_duration,
        parse_fault_spec,
        parse_size,
        sandbox_options,
    )

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.run_duration is not None:
        overrides["run_duration"] = parse_duration(args.run_duration, "--run-duration", text=True)
    if args.api_keys:
        overrides["api_keys"] = args.api_keys
    if args.tasks is not None:
        overrides["tasks"] = args.tasks
    if args.max_file_size is not None:
        overrides["max_file_size"] = parse_size(args.max_file_size)
    if args.canvas_id_after_polls is not None:
        overrides["canvas_id_after_polls"] = args.canvas_id_after_polls
    # The same loader as Sandbox.from_config: the file's faults are read once, not twice.
    options = sandbox_options(
        args.config,
        overrides,
        more_outcomes=args.outcomes or (),
        more_faults=[parse_fault_spec(spec) for spec in args.faults or []],
    )
    options.setdefault("port", 8765)
    return options


def main(argv: Sequence[str] | None = None, prog: str = "python -m spine.testing") -> int:
    """Serve the sandbox in the foreground until Ctrl-C; returns the exit status.

    0 after a clean stop (or ``--help``), 1 when the address cannot be bound, 2 for bad
    options or config.
    """
    try:
        return _main(argv, prog)
    except SystemExit as exc:  # argparse: --help, or a usage error it already printed
        return exc.code if isinstance(exc.code, int) else 2


def _main(argv: Sequence[str] | None, prog: str) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        options = _options(args)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    from spine._redact import mask_secret
    from spine.testing._server._sandbox import Sandbox

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    try:
        sandbox = Sandbox(**options)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    custom_keys = "api_keys" in options

    def ready(box: Sandbox) -> None:
        import shlex

        print(f"Spine sandbox listening on {box.url}", flush=True)
        if custom_keys:
            print(f"API keys: as configured (one of them: {mask_secret(box.api_key)})",
                  flush=True)
            key = "<one of the configured keys>"
        else:
            print(f"API key: {box.api_key} (any key starting with sk_spine_ works)", flush=True)
            key = box.api_key
        # Both, so that a fresh shell reaches this sandbox with a key it accepts.
        print("Point a client (or `spine run ...` in another shell) at it:", flush=True)
        print(f"  export SPINE_BASE_URL={shlex.quote(box.url)} SPINE_API_KEY={shlex.quote(key)}",
              flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    if args.verbose:
        _log_requests(sandbox)
    try:
        sandbox.serve_forever(on_ready=ready)
    except OSError as exc:
        print(f"{prog}: error: cannot serve on {options.get('host', '127.0.0.1')}:"
              f"{options['port']}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print("Spine sandbox stopped.", flush=True)
    return 0


def _log_requests(sandbox: Sandbox) -> None:
    """Print one line per request on stderr (never the API key)."""
    logger = logging.getLogger("spine.testing.access")

    def show(record: RequestRecord) -> None:
        status = "dropped" if record.status is None else record.status
        query = f"?{record.query}" if record.query else ""
        note = f" [{record.fault}]" if record.fault else ""
        logger.info("%s %s%s -> %s%s", record.method, record.path, query, status, note)

    sandbox.on_request(show)


if __name__ == "__main__":
    sys.exit(main())
