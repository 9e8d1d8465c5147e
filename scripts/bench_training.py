"""Training throughput against this machine's fp32 matrix-multiply peak, and the input pipeline.

Measures, in one run:
  peak      fp32 matrix-multiply GFLOP/s (TensorFlow, 2048 x 2048, best of several)
  training  images/s of the real train step (network, cosine-softmax head, Adam) at --batch-size
  pipeline  images/s of the tf.data input pipeline alone (decode, resize, flip, batch)
and reports training as a fraction of the peak (0.59 GFLOP forward per crop, ~3x that per training
image) and the pipeline as a multiple of training. Writes JSON to --output.

    python scripts/bench_training.py --data-dir runs/demo/market1501-synth
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from benchlib import describe_machine, matmul_peak_gflops  # noqa: E402

from core.atomic import write_json_atomic  # noqa: E402
from training.datasets import read_dataset  # noqa: E402
from training.heads import CosineSoftmaxHead  # noqa: E402
from training.losses import cosine_softmax_loss  # noqa: E402
from training.network import create_feature_extractor  # noqa: E402
from training.pipeline import class_indices, training_dataset  # noqa: E402
from training.sampler import IdentityBalancedSampler  # noqa: E402

FORWARD_GFLOP_PER_IMAGE = 0.59
TRAINING_GFLOP_PER_IMAGE = 3 * FORWARD_GFLOP_PER_IMAGE


def training_images_per_second(dataset, batch_size: int, steps: int, classes: int) -> float:
    model = create_feature_extractor()
    head = CosineSoftmaxHead(classes)
    head.build((None, 128))
    variables = model.trainable_variables + head.trainable_variables
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(variables)

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            logits = head(model(images, training=True))
            loss = cosine_softmax_loss(logits, labels) + tf.add_n(model.losses + head.losses)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    batches = iter(dataset)
    for _ in range(2):  # trace and warm up
        float(step(*next(batches)))
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(*next(batches))
    float(loss)
    return steps * batch_size / (time.perf_counter() - start)


def pipeline_images_per_second(dataset, batch_size: int, batches: int) -> float:
    iterator = iter(dataset)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="a Market-1501-layout dataset")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--pipeline-batches", type=int, default=30)
    parser.add_argument("--output", default="bench_training.json")
    args = parser.parse_args()

    train = read_dataset("market1501", args.data_dir).train
    labels, classes = class_indices(train.identities)
    sampler = IdentityBalancedSampler(train.identities, args.batch_size // 4, 4, seed=0)
    dataset = training_dataset(train.paths, labels, sampler)

    peak = matmul_peak_gflops(with_tensorflow=True)["peak"]
    pipeline = pipeline_images_per_second(dataset, args.batch_size, args.pipeline_batches)
    training = training_images_per_second(dataset, args.batch_size, args.steps, len(classes))
    training_gflops = training * TRAINING_GFLOP_PER_IMAGE
    report = {
        "machine": describe_machine(tensorflow=tf.__version__),
        "batch_size": args.batch_size,
        "matmul_peak_gflops": peak,
        "training_images_per_second": training,
        "training_steps_per_second": training / args.batch_size,
        "training_gflops": training_gflops,
        "training_fraction_of_peak": training_gflops / peak,
        "pipeline_images_per_second": pipeline,
        "pipeline_over_training": pipeline / training,
    }
    write_json_atomic(args.output, report)
    print(f"fp32 matmul peak        {peak:8.1f} GFLOP/s")
    print(
        f"training (batch {args.batch_size:3d})   {training:8.1f} images/s  "
        f"{training_gflops:6.1f} GFLOP/s = {100 * training_gflops / peak:.0f}% of peak"
    )
    print(
        f"input pipeline only     {pipeline:8.1f} images/s  = {pipeline / training:.1f}x training"
    )
    print(json.dumps({"written": args.output}))


if __name__ == "__main__":
    main()
