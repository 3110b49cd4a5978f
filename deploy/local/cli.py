"""The ``milie`` command: ``milie up`` starts the platform; ``milie users …`` manages staff;
``milie dead-letters …`` lists, shows and replays dead-lettered messages."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="milie", description="Miliê command-line tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole platform for development (as `make up`)")
    from deploy.local import dead_letters, users

    users.add_parser(sub)
    dead_letters.add_parser(sub)
    args = parser.parse_args(argv)
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
