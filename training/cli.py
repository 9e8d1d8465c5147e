"""`reid train`: argument parsing and the thin shell around `training.train.train`."""

from __future__ import annotations

import argparse

from training.train import TrainConfig

DATASETS = ("market1501", "mars", "folder")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument("--dataset", choices=DATASETS, default=defaults.dataset)
    parser.add_argument("--data-dir", required=True, help="dataset root folder")
    parser.add_argument(
        "--output-dir", default=None, help="run folder (default runs/<dataset>); rerun to resume"
    )
    parser.add_argument(
        "--loss", choices=("cosine-softmax", "magnet", "triplet"), default=defaults.loss
    )
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="P x K images (K=4)"
    )
    parser.add_argument("--images-per-identity", type=int, default=defaults.images_per_identity)
    parser.add_argument("--steps", type=int, default=defaults.steps, help="total training steps")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu", "npu"), default="auto")
    parser.add_argument("--precision", choices=("auto", "fp32", "mixed"), default="auto")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--strategy",
        choices=("auto", "none", "mirrored", "multiworker"),
        default=defaults.strategy,
        help="distribution over devices/machines (multiworker reads TF_CONFIG)",
    )
    parser.add_argument(
        "--cpu-replicas",
        type=int,
        default=defaults.cpu_replicas,
        help="split the CPU into N logical devices (mirrored training without accelerators)",
    )
    parser.add_argument(
        "--bn-momentum",
        type=float,
        default=None,
        help="batch-norm moving-average momentum (default 0.999, less for runs under 10k steps)",
    )
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    parser.add_argument("--validate-every", type=int, default=defaults.validate_every)
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--log-every", type=int, default=defaults.log_every)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        dataset=args.dataset,
        data_dir=args.data_dir,
        output_dir=args.output_dir or f"runs/{args.dataset}",
        loss=args.loss,
        batch_size=args.batch_size,
        images_per_identity=args.images_per_identity,
        steps=args.steps,
        lr=args.lr,
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        strategy=args.strategy,
        cpu_replicas=args.cpu_replicas,
        bn_momentum=args.bn_momentum,
        validation_fraction=args.validation_fraction,
        validate_every=args.validate_every,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
    )


def run_train(args: argparse.Namespace) -> int:
    from training.train import STOP_EXIT_CODES, train

    summary = train(config_from_args(args))
    print(
        f"Finished {summary['steps']} steps: loss {summary['loss']:.4f}, "
        f"validation rank-1 {summary['validation_rank1']:.3f}, "
        f"{summary['images_per_second']:.1f} images/s. Checkpoint: {summary['checkpoint']}"
    )
    if summary["stopped_by_signal"]:
        import signal

        return STOP_EXIT_CODES[signal.Signals[summary["stopped_by_signal"]]]
    return 0
