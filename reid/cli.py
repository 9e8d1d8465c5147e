"""The `reid` command: one entry point whose subcommands front every part of the project.

Subcommand modules are imported only when their command runs, so `reid serve` and the
deep_sort bridge never load TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys

from reid.errors import ReidError


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reid",
        description="Train, evaluate, freeze and serve deep_sort appearance embeddings.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from training.cli import add_train_arguments, run_train

    train = commands.add_parser("train", help="train the appearance network (resumable)")
    add_train_arguments(train)
    train.set_defaults(run=run_train)

    from training.datasets.synthetic import add_synth_market_arguments, run_synth_market

    synth = commands.add_parser("synth", help="write a synthetic dataset")
    kinds = synth.add_subparsers(dest="kind", required=True, metavar="KIND")
    market = kinds.add_parser("market1501", help="synthetic people in the Market-1501 layout")
    add_synth_market_arguments(market)
    market.set_defaults(run=run_synth_market)

    from reid.demo import add_demo_arguments, run_demo

    demo = commands.add_parser("demo", help="the main job: synthesise, train and report")
    add_demo_arguments(demo)
    demo.set_defaults(run=run_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = _build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ReidError as error:
        print(f"error: {error.problem}", file=sys.stderr)
        if error.fix:
            print(f"  fix: {error.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
