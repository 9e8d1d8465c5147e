"""The training loop: checkpoints that resume, clean stops, progress, summaries and a JSON report.

A run directory holds everything a run writes:
  config.json         full configuration, device, library versions
  checkpoints/        TensorFlow checkpoints ckpt-N (what `reid freeze` reads)
  logs/               TensorBoard summaries
  metrics.jsonl       one JSON object per logged step (loss, accuracy, kappa, images/s, rank-1)
  summary.json        the final report
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.errors import ReidError
from training.look_alikes import REFRESH_EVERY, LookAlikeSampler
from training.options import (
    LOSSES,
    LR_SCHEDULES,
    OPTIMIZER_DEFAULTS,
    OPTIMIZERS,
    REFERENCE_DROPOUT,
    WEIGHT_INITS,
    parse_augmentations,
)
from training.run_record import check_continues, write_config, write_record
from training.validation import VALIDATIONS

STOP_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved as config.json in the run directory."""

    # One dataset, or several in one run: equal-length tuples (a single kind applies to all).
    dataset: str | tuple[str, ...] = "market1501"
    data_dir: str | tuple[str, ...] = ""
    output_dir: str = "runs/market1501"
    loss: str = "cosine-softmax+triplet"
    batch_size: int = 128
    images_per_identity: int = 4
    steps: int = 100_000
    # Peak rate; None: the optimiser's (OPTIMIZER_DEFAULTS; the reference's 1e-3 suits its own
    # starting weights, Adam's 3e-3 He's).
    lr: float | None = None
    optimizer: str = "adam"  # training.options.OPTIMIZERS
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    bn_momentum: float | None = None  # None: the reference's 0.999, shortened for short runs
    validation: str = "held-out"  # or "test-split" (training.validation)
    validation_fraction: float = 0.1  # share of identities held out under "held-out"
    validate_every: int = 1000
    checkpoint_every: int = 1000
    log_every: int = 10
    keep_checkpoints: int = 3
    strategy: str = "auto"
    cpu_replicas: int = 1
    # The recipe (the ablation table in docs/quality/README.md backs each choice). The
    # reference's: cosine-softmax alone, constant rate 1e-3, weights of stddev 1e-3, no
    # MixStyle; kept: learned kappa, flip.
    augmentations: str = "flip"  # comma-separated names of training.options.AUGMENTATIONS
    initial_kappa: float | None = None  # start of the learned scale (None: softplus(0))
    fixed_kappa: float | None = None  # a constant cosine-softmax scale instead (NormFace)
    margin: float = 0.0  # additive cosine margin (CosFace)
    label_smoothing: float = 0.0
    triplet_weight: float = 1.0  # weight of the (weighted) triplet term beside cosine-softmax
    # How strongly the weighted triplet favours hard pairs (losses.weighted_triplet_loss; 1: AGW's)
    triplet_sharpness: float = 1.0
    lr_schedule: str = "cosine"  # linear warm-up then cosine decay to 0; or "constant"
    warmup_fraction: float = 0.1  # share of --steps spent warming up
    weight_decay: float | None = None  # L2 on kernels; None: the optimiser's
    dropout: float = REFERENCE_DROPOUT  # rate of the network's dropout layers in training
    weight_init: str = "he"  # starting weights, training.options.WEIGHT_INITS
    mixstyle: float = 0.5  # probability of mixing feature styles between images (0: never)
    style_uncertainty: float = 0.0  # probability of style noise (DSU) in a batch (0: never)
    look_alikes: int = 0  # people each seed brings into a batch (training.look_alikes; 0: random)
    pooled_weight: float = 0.0  # weight of the pooled branch's loss (heads.PooledBranch; 0: none)
    # weight of the stripe-colour prior on the embedding's neighbours (training.colour_prior)
    colour_prior: float = 0.0
    # fc1 reads each row's columns through one set of weights (training.network.share_columns)
    share_columns: bool = False
    # Fine-tuning: start from these weights (a run, checkpoint or reference TF1 checkpoint).
    init_from: str | None = None
    backbone_lr_scale: float = 1.0  # the feature extractor's share of --lr (the head keeps it)

    def __post_init__(self):
        # The rate and decay an optimiser was measured with, wherever a config is built: Adam's
        # rate would barely move SGD.
        measured = OPTIMIZER_DEFAULTS.get(self.optimizer, {})
        for field in ("lr", "weight_decay"):
            if getattr(self, field) is None and field in measured:
                object.__setattr__(self, field, measured[field])

    def sources(self) -> list[tuple[str, str]]:
        """(dataset kind, folder) of every training set of the run."""
        dirs = (self.data_dir,) if isinstance(self.data_dir, str) else tuple(self.data_dir)
        kinds = (self.dataset,) if isinstance(self.dataset, str) else tuple(self.dataset)
        if len(kinds) == 1:
            kinds = kinds * len(dirs)
        if len(kinds) != len(dirs) or not dirs:
            raise ReidError(
                f"{len(kinds)} --dataset kinds for {len(dirs)} --data-dir folders.",
                "Give one --dataset for all folders, or one per --data-dir, in the same order.",
            )
        return list(zip(kinds, dirs, strict=True))

    @property
    def identities_per_batch(self) -> int:
        return self.batch_size // self.images_per_identity

    def resolved_bn_momentum(self) -> float:
        """0.999 as the reference; a run too short for that to settle uses 1 - 10 / steps."""
        if self.bn_momentum is not None:
            return self.bn_momentum
        return min(0.999, max(0.9, 1.0 - 10.0 / max(self.steps, 1)))

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ReidError(
                f"Unknown --optimizer '{self.optimizer}'.", f"Use one of: {', '.join(OPTIMIZERS)}."
            )
        if (
            self.batch_size % self.images_per_identity
            or self.batch_size < 2 * self.images_per_identity
        ):
            raise ReidError(
                f"--batch-size {self.batch_size} is not a multiple of {self.images_per_identity} "
                "images per identity (with at least 2 identities).",
                "Use a batch size such as 32, 64 or 128.",
            )
        if self.steps < 1:
            raise ReidError(f"--steps must be at least 1 (got {self.steps}).")
        if self.lr <= 0:
            raise ReidError(f"--lr must be positive (got {self.lr}).")
        if not 0 < self.backbone_lr_scale <= 1:
            raise ReidError(
                f"--backbone-lr-scale must lie in (0, 1] (got {self.backbone_lr_scale}).",
                "Use for example 0.1 to fine-tune the feature extractor gently, or 1.",
            )
        self.sources()
        if self.validation not in VALIDATIONS:
            raise ReidError(
                f"Unknown --validation '{self.validation}'.",
                f"Use one of: {', '.join(VALIDATIONS)}.",
            )
        if self.loss not in LOSSES:
            raise ReidError(f"Unknown loss '{self.loss}'.", f"Use one of: {', '.join(LOSSES)}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ReidError(
                f"Unknown --lr-schedule '{self.lr_schedule}'.",
                f"Use one of: {', '.join(LR_SCHEDULES)}.",
            )
        if self.weight_init not in WEIGHT_INITS:
            raise ReidError(
                f"Unknown --weight-init '{self.weight_init}'.",
                f"Use one of: {', '.join(WEIGHT_INITS)}.",
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ReidError(
                f"--dropout must lie in [0, 1), got {self.dropout}.", "Use for example 0.4."
            )
        for flag, value in (
            ("mixstyle", self.mixstyle),
            ("style-uncertainty", self.style_uncertainty),
        ):
            if not 0.0 <= value <= 1.0:
                raise ReidError(
                    f"--{flag} must lie in [0, 1], got {value}.", "Use for example 0.5."
                )
        if self.triplet_sharpness <= 0:
            raise ReidError(
                f"--triplet-sharpness must be above 0, got {self.triplet_sharpness}.",
                "Use for example 10, or 1 for AGW's weights.",
            )
        if self.pooled_weight < 0:
            raise ReidError(
                f"--pooled-weight must be 0 or more, got {self.pooled_weight}.",
                "Use for example 0.5, or 0 for no pooled branch.",
            )
        if self.colour_prior < 0:
            raise ReidError(
                f"--colour-prior must be 0 or more, got {self.colour_prior}.",
                "Use for example 1, or 0 for no colour prior.",
            )
        if self.look_alikes < 0 or (self.look_alikes and not self.uses_head()):
            raise ReidError(
                f"--look-alikes {self.look_alikes} needs a value >= 0 and a cosine-softmax loss "
                "(the look-alikes come from its class vectors).",
                "Use --look-alikes 0, or a loss with the cosine-softmax term.",
            )
        if not 0.0 <= self.warmup_fraction < 1.0 or not 0.0 <= self.label_smoothing < 1.0:
            raise ReidError(
                "--warmup-fraction and --label-smoothing must lie in [0, 1).",
                "Use for example --warmup-fraction 0.1 --label-smoothing 0.1.",
            )
        try:
            parse_augmentations(self.augmentations)
        except ValueError as error:
            raise ReidError(
                f"--augment: {error}.", "Use for example --augment flip,erasing."
            ) from None

    def uses_head(self) -> bool:
        return self.loss.startswith("cosine-softmax")


class StopRequest:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step."""

    def __init__(self):
        self.signal: int | None = None
        self._previous = {}

    def __enter__(self):
        for sig in STOP_EXIT_CODES:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        self.signal = signum

    @property
    def requested(self) -> bool:
        return self.signal is not None


def _format_eta(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _prepare_data(config: TrainConfig, log):
    """Read the datasets, choose what validation ranks, build the P x K sampler.

    Returns the training part, the Validation, class labels, the classes, the sampler
    and a record of the mix (one entry per source).
    """
    from training.datasets import read_dataset
    from training.datasets.mixed import combine_training_sets
    from training.pipeline import class_indices
    from training.sampler import IdentityBalancedSampler
    from training.validation import choose_validation

    sources = config.sources()
    datasets = [read_dataset(kind, folder) for kind, folder in sources]
    everything, mix = combine_training_sets(
        [d.train for d in datasets], [f"{kind}:{folder}" for kind, folder in sources]
    )
    if len(sources) > 1:
        log("Training on " + ", ".join(f"{m['source']} ({m['identities']} ids)" for m in mix))
    train_set, validation = choose_validation(
        config.validation, datasets, everything, config.validation_fraction
    )
    if everything.skipped:
        shown = ", ".join(Path(p).name for p in everything.skipped[:3])
        log(f"Skipped {len(everything.skipped)} unreadable images ({shown}, ...).")
    labels, classes = class_indices(train_set.identities)
    sampler_args = (
        train_set.identities, config.identities_per_batch, config.images_per_identity, config.seed
    )  # fmt: skip
    if config.look_alikes:
        sampler = LookAlikeSampler(*sampler_args, look_alikes=config.look_alikes)
    else:
        sampler = IdentityBalancedSampler(*sampler_args)
    return train_set, validation, labels, classes, sampler, mix


def _make_validator(model, validation):
    """validation_rank1() of the model as it stands, on `validation` (training.validation)."""
    import tensorflow as tf

    from training.pipeline import inference_dataset
    from training.validation import validation_rank1

    @tf.function(reduce_retracing=True)
    def embed(images):
        return model(images, training=False)

    def features(paths) -> np.ndarray:
        return np.concatenate([embed(batch).numpy() for batch in inference_dataset(paths, 256)])

    return lambda: validation_rank1(validation, features)


def _batches(config: TrainConfig, train_set, labels, sampler, start_step: int, topology):
    """The iterator of training batches: one per step, split over workers and replicas."""
    from training.pipeline import training_dataset

    strategy = topology.strategy

    def dataset_for(context=None):
        shards, shard = topology.num_shards, topology.shard_index
        replica_batch = None
        if context is not None:
            shards, shard = context.num_input_pipelines, context.input_pipeline_id
            replica_batch = context.get_per_replica_batch_size(config.batch_size)
        return training_dataset(
            train_set.paths, labels, sampler, start_step, config.seed,
            num_shards=shards, shard_index=shard, replica_batch_size=replica_batch,
            augmentations=parse_augmentations(config.augmentations),
        )  # fmt: skip

    if topology.name in ("mirrored", "multiworker"):
        return iter(strategy.distribute_datasets_from_function(dataset_for))
    return iter(dataset_for())


def train(config: TrainConfig, log=print) -> dict:
    """Train (or resume) the run in `config.output_dir`; returns the summary it also writes."""
    import keras
    import tensorflow as tf

    from training import devices, distribute
    from training.heads import CosineSoftmaxHead, PooledBranch
    from training.network import create_feature_extractor, tie_columns, training_view
    from training.step import make_optimizers, make_train_step

    config.check()
    output_dir = Path(config.output_dir)
    check_continues(output_dir, config)
    output_dir.mkdir(parents=True, exist_ok=True)
    train_set, validation, labels, classes, sampler, mix = _prepare_data(config, log)

    plan = devices.plan_device(config.device, config.precision)
    if plan.kind == "cpu":
        distribute.split_cpu(config.cpu_replicas)
    devices.activate(plan)
    topology = distribute.create_topology(config.strategy, plan.kind, config.cpu_replicas)
    distribute.check_batch(config.batch_size, config.images_per_identity, topology)
    keras.utils.set_random_seed(config.seed)
    chief = topology.is_chief
    if not chief:
        log = _silent
    log(
        f"Training on {plan.describe()}, {topology.replicas} replica(s) "
        f"[{topology.name}]: {len(train_set)} images of {len(classes)} identities, "
        f"{validation.describe()}."
    )

    with topology.strategy.scope():
        model = create_feature_extractor(
            bn_momentum=config.resolved_bn_momentum(),
            weight_decay=config.weight_decay,
            synchronized_bn=topology.strategy.num_replicas_in_sync > 1,
            dropout=config.dropout,
            weight_init=config.weight_init,
        )
        view = training_view(
            model, config.mixstyle, config.style_uncertainty, config.seed, config.pooled_weight > 0
        )

        def classifier(name: str):
            if not config.uses_head():
                return None
            head = CosineSoftmaxHead(
                len(classes),
                initial_kappa=config.initial_kappa,
                fixed_kappa=config.fixed_kappa,
                margin=config.margin,
                weight_init=config.weight_init,
                name=name,
            )
            head.build((None, model.output.shape[-1]))
            return head

        head = classifier("ball")
        pooled = None
        if config.pooled_weight > 0:
            branch = PooledBranch(
                model.output.shape[-1], config.resolved_bn_momentum(), config.weight_init
            )
            branch.build(view.outputs[1].shape)
            pooled = (branch, classifier("pooled_ball"))
        # The class vectors the current look-alike table came from, kept for resuming.
        look_alike_vectors = None
        if config.look_alikes:
            look_alike_vectors = tf.Variable(
                tf.identity(head.mean_vectors), trainable=False, name="look_alike_vectors"
            )
        heads = [layer for layer in (head, *(pooled or ())) if layer is not None]
        optimizers = make_optimizers(config, model, heads, plan)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizers[0][0])
    if head is not None:
        checkpoint.head = head
    if pooled is not None:
        checkpoint.pooled_branch = pooled[0]
        if pooled[1] is not None:
            checkpoint.pooled_head = pooled[1]
    if len(optimizers) > 1:
        checkpoint.head_optimizer = optimizers[1][0]
    if look_alike_vectors is not None:
        checkpoint.look_alike_vectors = look_alike_vectors
    checkpoint_dir = output_dir / "checkpoints"
    init_source = None
    if manager_latest := tf.train.latest_checkpoint(checkpoint_dir):
        checkpoint.restore(manager_latest).expect_partial()
        log(f"Resuming from {manager_latest} at step {int(step.numpy())}.")
    elif config.init_from:
        from training.checkpoints import resolve_checkpoint, restore_weights

        init_source = resolve_checkpoint(config.init_from)
        restore_weights(model, init_source)
        log(f"Starting from the weights of {init_source.prefix} ({init_source.kind}).")
    if manager_latest is None and config.share_columns:
        tie_columns(model)
    if manager_latest is None and topology.npu_ranks > 1:
        distribute.npu_broadcast_variables(
            model.variables + [v for o, _ in optimizers for v in o.variables]
        )
    # Only the chief keeps checkpoints; other workers save (collectively) to a scratch folder.
    save_dir = checkpoint_dir if chief else output_dir / f".worker-{topology.worker_index}"
    manager = tf.train.CheckpointManager(checkpoint, save_dir, max_to_keep=config.keep_checkpoints)
    if chief:
        write_config(output_dir, config, plan, len(classes), topology, mix, init_source)

    summary_path = output_dir / "summary.json"
    if int(step.numpy()) >= config.steps and summary_path.exists():
        log(f"{output_dir} is already trained to step {int(step.numpy())}; nothing to do.")
        return json.loads(summary_path.read_text())
    train_step = make_train_step(view, head, pooled, optimizers, step, config, plan, topology)
    validation_rank1 = _make_validator(model, validation)
    start_step = int(step.numpy())
    validate = chief and config.validate_every > 0
    initial_rank1 = None
    if start_step == 0 and validate:
        initial_rank1 = validation_rank1()
        log(f"Untrained network: validation rank-1 {initial_rank1:.3f}")

    if look_alike_vectors is not None and start_step % REFRESH_EVERY:
        sampler.publish(start_step, look_alike_vectors.numpy(), classes)
    batches = _batches(config, train_set, labels, sampler, start_step, topology)
    summary_writer = tf.summary.create_file_writer(str(output_dir / "logs")) if chief else None
    metrics = (output_dir / "metrics.jsonl").open("a") if chief else None
    stopped_by = None
    loss_value = accuracy_value = rank1 = float("nan")
    window_start, window_images = time.perf_counter(), 0
    images_per_second = 0.0
    run_start = time.perf_counter()
    trained_images = 0
    with StopRequest() as stop, contextlib.closing(sampler):
        while int(step.numpy()) < config.steps:
            if look_alike_vectors is not None and int(step.numpy()) % REFRESH_EVERY == 0:
                look_alike_vectors.assign(head.mean_vectors)
                sampler.publish(int(step.numpy()), look_alike_vectors.numpy(), classes)
            loss, accuracy = train_step(batches)
            current = int(step.numpy())
            window_images += config.batch_size
            trained_images += config.batch_size
            record = {}
            if current % config.log_every == 0 or current == config.steps:
                loss_value, accuracy_value = float(loss), float(accuracy)
                elapsed = time.perf_counter() - window_start
                images_per_second = window_images / max(elapsed, 1e-9)
                window_start, window_images = time.perf_counter(), 0
                eta = (config.steps - current) * config.batch_size / max(images_per_second, 1e-9)
                record = {
                    "step": current,
                    "loss": loss_value,
                    "accuracy": accuracy_value,
                    "kappa": float(head.kappa()) if head is not None else float("nan"),
                    "images_per_second": images_per_second,
                }
                log(
                    f"step {current}/{config.steps}  loss {loss_value:.4f}  "
                    f"acc {accuracy_value:.3f}  {images_per_second:.1f} img/s  "
                    f"ETA {_format_eta(eta)}"
                )
            if validate and (current % config.validate_every == 0 or current == config.steps):
                rank1 = validation_rank1()
                record.update(step=current, validation_rank1=rank1)
                log(f"step {current}: validation rank-1 {rank1:.3f}")
            if record and chief:
                write_record(summary_writer, metrics, record)
            if current % config.checkpoint_every == 0:
                manager.save(checkpoint_number=current)
            if stop.requested:
                stopped_by = stop.signal
                break
        final_step = int(step.numpy())
        if not (manager.latest_checkpoint or "").endswith(f"-{final_step}"):
            manager.save(checkpoint_number=final_step)
    if metrics is not None:
        metrics.close()

    seconds = time.perf_counter() - run_start
    summary = {
        "steps": final_step,
        "target_steps": config.steps,
        "loss": loss_value,
        "accuracy": accuracy_value,
        "validation_rank1": rank1,
        "initial_validation_rank1": initial_rank1,
        "images_per_second": trained_images / seconds if seconds > 0 else 0.0,
        "last_images_per_second": images_per_second,
        "seconds": seconds,  # of this call: a resumed run counts from start_step
        "start_step": start_step,
        "device": plan.describe(),
        "strategy": topology.name,
        "replicas": topology.replicas,
        "checkpoint": tf.train.latest_checkpoint(checkpoint_dir),
        "stopped_by_signal": signal.Signals(stopped_by).name if stopped_by else None,
        "validation": validation.protocol,
        "chance_rank1": 1.0 / max(validation.num_identities, 1),
    }
    if chief:
        write_json_atomic(summary_path, summary)
    else:
        shutil.rmtree(save_dir, ignore_errors=True)
    if stopped_by:
        log(
            f"Stopped by {summary['stopped_by_signal']} at step {final_step}; checkpoint saved. "
            "Run the same command again to resume."
        )
    return summary


def _silent(message: str) -> None:
    """The log of non-chief workers: they train, the chief reports."""
