"""`python -m serving --model M ...`: the same as `reid serve`, without the rest of the CLI."""

import argparse
import sys

from core.errors import ReidError
from serving.cli import add_serve_arguments, run_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_serve(args)
    except ReidError as error:
        print(f"error: {error.problem}", file=sys.stderr)
        if error.fix:
            print(f"  fix: {error.fix}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
