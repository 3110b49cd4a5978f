"""The ``milie`` command: ``milie up`` starts the platform (staff accounts come later)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="milie", description="Miliê command-line tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole platform for development (as `make up`)")
    args = parser.parse_args(argv)
    if args.command == "up":
        from deploy.local.up import main as up

        return up()
    return 2


if __name__ == "__main__":
    sys.exit(main())
