"""`reid train`: argument parsing and the thin shell around `training.train.train`."""

from __future__ import annotations

import argparse

from training.options import (
    AUGMENTATIONS,
    DEVICES,
    LOSSES,
    LR_SCHEDULES,
    OPTIMIZER_DEFAULTS,
    OPTIMIZERS,
    PRECISIONS,
    STRATEGIES,
    WEIGHT_INITS,
)
from training.train import TrainConfig
from training.validation import VALIDATIONS

DATASETS = ("market1501", "mars", "folder")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        action="append",
        help=f"layout of each --data-dir in order; one applies to all (default {defaults.dataset})",
    )
    parser.add_argument(
        "--data-dir",
        required=True,
        action="append",
        help="dataset root folder; repeat to train on several datasets at once",
    )
    parser.add_argument(
        "--output-dir", default=None, help="run folder (default runs/<dataset>); rerun to resume"
    )
    parser.add_argument("--loss", choices=LOSSES, default=defaults.loss)
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="P x K images (K=4)"
    )
    parser.add_argument("--images-per-identity", type=int, default=defaults.images_per_identity)
    parser.add_argument("--steps", type=int, default=defaults.steps, help="total training steps")
    parser.add_argument(
        "--lr", type=float, default=None, help=_per_optimizer("peak learning rate", "lr")
    )
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
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
    recipe = parser.add_argument_group(
        "recipe (defaults: see the ablation table in docs/quality/README.md)"
    )
    recipe.add_argument(
        "--augment",
        default=defaults.augmentations,
        help=f"comma-separated training augmentations from {', '.join(AUGMENTATIONS)}, or none",
    )
    recipe.add_argument(
        "--initial-kappa",
        type=float,
        default=defaults.initial_kappa,
        help="start value of the learned cosine-softmax scale (reference: softplus(0) = 0.69)",
    )
    recipe.add_argument(
        "--fixed-kappa",
        type=float,
        default=defaults.fixed_kappa,
        help="a constant cosine-softmax scale (NormFace/CosFace); 0: learned, as the reference",
    )
    recipe.add_argument("--margin", type=float, default=defaults.margin, help="cosine margin")
    recipe.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    recipe.add_argument(
        "--triplet-weight",
        type=float,
        default=defaults.triplet_weight,
        help="weight of the triplet term with --loss cosine-softmax+[weighted-]triplet",
    )
    recipe.add_argument(
        "--triplet-sharpness",
        type=float,
        default=defaults.triplet_sharpness,
        help="how strongly --loss [cosine-softmax+]weighted-triplet favours the hardest pairs "
        "(1: AGW's; large: batch-hard)",
    )
    recipe.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=defaults.optimizer,
        help="Adam, as the reference, or SGD with Nesterov momentum 0.9; each brings its own "
        "default --lr and --weight-decay",
    )
    recipe.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=defaults.lr_schedule)
    recipe.add_argument(
        "--warmup-fraction",
        type=float,
        default=defaults.warmup_fraction,
        help="share of --steps spent warming the learning rate up",
    )
    recipe.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help=_per_optimizer("L2 on kernels", "weight_decay"),
    )
    recipe.add_argument(
        "--dropout",
        type=float,
        default=defaults.dropout,
        help="rate of the network's dropout layers in training (the frozen graph has none)",
    )
    recipe.add_argument(
        "--weight-init",
        choices=WEIGHT_INITS,
        default=defaults.weight_init,
        help="starting weights: He's fan-in scale, or the reference's stddev 1e-3 (default "
        "%(default)s)",
    )
    recipe.add_argument(
        "--mixstyle",
        type=float,
        default=defaults.mixstyle,
        help="probability of mixing feature statistics between images in training (MixStyle), "
        "for cameras unlike the training ones; 0: never (default %(default)s)",
    )
    recipe.add_argument(
        "--style-uncertainty",
        type=float,
        default=defaults.style_uncertainty,
        help="probability of moving feature statistics by noise in training (DSU), for cameras "
        "beyond the training ones' styles; 0: never (default %(default)s)",
    )
    recipe.add_argument(
        "--pooled-weight",
        type=float,
        default=defaults.pooled_weight,
        help="weight of a training-only loss on the last feature map averaged over positions, "
        "for convolutional features that identify people wherever they stand in the crop; "
        "0: none (default %(default)s)",
    )
    recipe.add_argument(
        "--colour-prior",
        type=float,
        default=defaults.colour_prior,
        help="weight of a training-only loss asking the embedding to rank each crop's neighbours "
        "as colour histograms of horizontal stripes do, so that people never seen in training "
        "land near those dressed alike; 0: none (default %(default)s)",
    )
    recipe.add_argument(
        "--share-columns",
        action="store_true",
        help="fc1 reads every column of each row of the last feature map through the same "
        "weights: features of horizontal stripes of the person, wherever they stand left or "
        "right (the network and its exports are unchanged)",
    )
    recipe.add_argument(
        "--look-alikes",
        type=int,
        default=defaults.look_alikes,
        metavar="N",
        help="build batches from groups of similar people: each of a batch's seed identities "
        "brings the N the classifier finds nearest it, so the triplet term meets hard "
        "negatives; 0: random people (default %(default)s)",
    )
    tuning = parser.add_argument_group("fine-tuning")
    tuning.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_OR_CKPT",
        help="start from these weights: a run folder, a ckpt-N prefix or a reference TF1 "
        "checkpoint; the classifier starts fresh for this run's identities",
    )
    tuning.add_argument(
        "--backbone-lr-scale",
        type=float,
        default=defaults.backbone_lr_scale,
        help="the feature extractor's learning rate as a share of --lr (e.g. 0.1 to fine-tune)",
    )
    parser.add_argument(
        "--validation",
        choices=VALIDATIONS,
        default=defaults.validation,
        help="what validation rank-1 ranks: --validation-fraction of the training identities "
        "held out (held-out), or the dataset's own query/gallery under Market-1501 rules, all "
        "training identities training (test-split)",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=defaults.validation_fraction,
        help="share of training identities held out under --validation held-out",
    )
    parser.add_argument("--validate-every", type=int, default=defaults.validate_every)
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--log-every", type=int, default=defaults.log_every)


def _one_or_tuple(values: list[str]) -> str | tuple[str, ...]:
    return values[0] if len(values) == 1 else tuple(values)


def _per_optimizer(what: str, field: str) -> str:
    """Help for an option whose default the chosen --optimizer sets."""
    values = ", ".join(f"{name} {d[field]}" for name, d in OPTIMIZER_DEFAULTS.items())
    return f"{what} (default: the --optimizer's, {values})"


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    kinds = args.dataset or [TrainConfig().dataset]
    return TrainConfig(
        dataset=_one_or_tuple(kinds),
        data_dir=_one_or_tuple(args.data_dir),
        output_dir=args.output_dir or f"runs/{kinds[0]}",
        loss=args.loss,
        batch_size=args.batch_size,
        images_per_identity=args.images_per_identity,
        steps=args.steps,
        lr=args.lr,
        optimizer=args.optimizer,
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        strategy=args.strategy,
        cpu_replicas=args.cpu_replicas,
        bn_momentum=args.bn_momentum,
        validation=args.validation,
        validation_fraction=args.validation_fraction,
        validate_every=args.validate_every,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        augmentations=args.augment,
        initial_kappa=args.initial_kappa,
        fixed_kappa=args.fixed_kappa or None,
        margin=args.margin,
        label_smoothing=args.label_smoothing,
        triplet_weight=args.triplet_weight,
        triplet_sharpness=args.triplet_sharpness,
        lr_schedule=args.lr_schedule,
        warmup_fraction=args.warmup_fraction,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        weight_init=args.weight_init,
        mixstyle=args.mixstyle,
        style_uncertainty=args.style_uncertainty,
        look_alikes=args.look_alikes,
        pooled_weight=args.pooled_weight,
        colour_prior=args.colour_prior,
        share_columns=args.share_columns,
        init_from=args.init_from,
        backbone_lr_scale=args.backbone_lr_scale,
    )


def run_train(args: argparse.Namespace) -> int:
    from training.train import STOP_EXIT_CODES, train

    summary = train(config_from_args(args))

    def figure(key: str, digits: int) -> str:
        value = summary.get(key)  # NaN is stored as null in summary.json
        return "n/a" if value is None or value != value else f"{value:.{digits}f}"

    print(
        f"Finished {summary['steps']} steps: loss {figure('loss', 4)}, "
        f"validation rank-1 {figure('validation_rank1', 3)}, "
        f"{figure('images_per_second', 1)} images/s. Checkpoint: {summary['checkpoint']}"
    )
    if summary["stopped_by_signal"]:
        import signal

        return STOP_EXIT_CODES[signal.Signals[summary["stopped_by_signal"]]]
    return 0
