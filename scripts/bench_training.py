"""Training throughput against this machine's matrix-multiply peak, and the input pipeline.

Measures, in one run:
  peak      fp32 (and bf16) matrix-multiply GFLOP/s (TensorFlow, 2048 x 2048, best of several)
  training  images/s of the real train step (network, cosine-softmax head, Adam) at --batch-size,
            for each of --precisions: fp32, and mixed (bfloat16 compute, as `--precision mixed`)
  pipeline  images/s of the tf.data input pipeline alone (decode, resize, flip, batch)
and reports training as a fraction of its precision's peak (0.59 GFLOP forward per crop, ~3x that
per training image), mixed against fp32, and the pipeline as a multiple of fp32 training. Writes
JSON to --output.

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


KERAS_POLICIES = {"fp32": "float32", "mixed": "mixed_bfloat16"}
PEAK_DTYPES = {"fp32": "float32", "mixed": "bfloat16"}


def training_images_per_second(dataset, batch_size: int, steps: int, classes: int) -> float:
    """Images/s of the train step under the current Keras dtype policy."""
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
    parser.add_argument(
        "--precisions", default="fp32,mixed", help="comma-separated: fp32, mixed (bfloat16)"
    )
    parser.add_argument("--output", default="bench_training.json")
    args = parser.parse_args()
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if not precisions or any(p not in KERAS_POLICIES for p in precisions):
        parser.error(f"--precisions takes a list of {', '.join(KERAS_POLICIES)}")

    train = read_dataset("market1501", args.data_dir).train
    labels, classes = class_indices(train.identities)
    sampler = IdentityBalancedSampler(train.identities, args.batch_size // 4, 4, seed=0)
    dataset = training_dataset(train.paths, labels, sampler)

    pipeline = pipeline_images_per_second(dataset, args.batch_size, args.pipeline_batches)
    results = {}
    for precision in precisions:
        peak = matmul_peak_gflops(with_tensorflow=True, tf_dtype=PEAK_DTYPES[precision])
        keras.mixed_precision.set_global_policy(KERAS_POLICIES[precision])
        training = training_images_per_second(dataset, args.batch_size, args.steps, len(classes))
        keras.mixed_precision.set_global_policy("float32")
        gflops, limit = training * TRAINING_GFLOP_PER_IMAGE, peak["tensorflow"]
        results[precision] = {
            "matmul_peak_gflops": limit,
            "training_images_per_second": training,
            "training_steps_per_second": training / args.batch_size,
            "training_gflops": gflops,
            "training_fraction_of_peak": gflops / limit,
        }
        print(
            f"{precision:5s} matmul peak {limit:8.1f} GFLOP/s; training (batch {args.batch_size}) "
            f"{training:6.1f} images/s = {100 * gflops / limit:.0f}% of it"
        )
    report = {
        "machine": describe_machine(tensorflow=tf.__version__),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "precisions": results,
        "pipeline_images_per_second": pipeline,
    }
    if "fp32" in results:
        ratio = pipeline / results["fp32"]["training_images_per_second"]
        report["pipeline_over_fp32_training"] = ratio
        print(f"input pipeline only {pipeline:8.1f} images/s = {ratio:.1f}x fp32 training")
    if {"fp32", "mixed"} <= set(results):
        ratio = (
            results["mixed"]["training_images_per_second"]
            / results["fp32"]["training_images_per_second"]
        )
        report["mixed_over_fp32"] = ratio
        print(f"mixed (bfloat16) training = {ratio:.2f}x fp32")
    write_json_atomic(args.output, report)
    print(json.dumps({"written": args.output}))


if __name__ == "__main__":
    main()
