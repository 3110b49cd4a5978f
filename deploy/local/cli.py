"""The ``milie`` command: ``milie up`` starts the platform; ``milie users …`` manages staff;
``milie dead-letters …`` collects, lists, shows and replays dead-lettered messages."""

from __future__ import annotations

import argparse
import sys


def parser() -> argparse.ArgumentParser:
    """The command line (tests/deploy reads the CronJob's command with it)."""
    from deploy.local import dead_letters, users

    milie = argparse.ArgumentParser(prog="milie", description="Miliê command-line tool")
    sub = milie.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole platform for development (as `make up`)")
    users.add_parser(sub)
    dead_letters.add_parser(sub)
    return milie


def main(argv: list[str] | None = None) -> int:
    from deploy.local import dead_letters, users

    args = parser().parse_args(argv)
    if args.command == "up":
        from deploy.local.up import main as up

        return up()
    if args.command == "users":
        return users.main(args)
    if args.command == "dead-letters":
        return dead_letters.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
