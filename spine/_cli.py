"""The ``spine`` command line. Subcommands import what they need only when they run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spine", description="Tools for the Spine API.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each subcommand owns its options; main() hands it everything after its name.
    commands.add_parser("sandbox", help="serve a local sandbox that behaves like the Spine API")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spine`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if args[:1] == ["sandbox"]:
        from spine.testing.__main__ import main as sandbox_main

        return sandbox_main(args[1:], prog="spine sandbox")
    parsed = parser.parse_args(args)
    if parsed.command is None:
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
