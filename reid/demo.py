"""`reid demo`, the main job: synthesise a dataset, train briefly, freeze, export and serve.

Every stage skips or resumes work already done, so rerunning the command is cheap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.options import DEVICES

VALIDATED_ON = {"test-split": "the test split", "held-out": "held-out identities"}


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", default="runs/demo", help="where data, run and models go")
    parser.add_argument(
        "--steps", type=int, default=400, help="training steps (about 7 minutes on 2 cores)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--train-identities", type=int, default=200, help="people in the synthetic training set"
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the service on 127.0.0.1")
    parser.add_argument(
        "--no-serve", action="store_true", help="stop after freezing and exporting the model"
    )


def _figure(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _export_once(checkpoint: str, output: Path, model_format: str) -> None:
    """Export unless a model card says `output` already comes from this checkpoint."""
    import json
    import os

    from encoder.export import export

    card = output.with_name(output.name + ".json")
    if output.exists() and card.exists():
        recorded = json.loads(card.read_text()).get("source_checkpoint")
        if recorded == os.path.abspath(checkpoint):
            print(f"      {output} is up to date")
            return
    written = export(checkpoint, str(output), model_format)
    print(f"      wrote {output} and {card.name}")
    int8 = (written.get("fidelity") or {}).get("int8") or {}
    if int8.get("passes"):
        print(
            f"      and its int8 twin {int8['file']} (min cosine {int8['min_cosine']:.4f} to fp32)"
        )


def main_job_datasets(train_identities: int = 200, seed: int = 0):
    """The synthetic dataset settings of the main job."""
    from synthetic.market1501 import SynthConfig

    # Cameras at a quarter of the generator's colour casts, tone and blur: real cameras shift
    # colour less (CUHK03 rank-1 14.4% and 13.5% with seeds 0 and 1, against 12.9% and 10.6% at
    # full strength; bench_quality --synthetic-only --ablation camera-strength-1 [--seed 1]).
    return SynthConfig(train_identities=train_identities, seed=seed, camera_strength=0.25)


def main_job_training(
    data_dir: str | Path,
    run_dir: str | Path,
    steps: int = 400,
    batch_size: int = 64,
    device: str = "auto",
    seed: int = 0,
):
    """The main job's TrainConfig: the default recipe, briefly, on the synthetic people.

    `scripts/bench_quality.py --synthetic-only` scores exactly this training on real people.
    """
    from training.train import TrainConfig

    return TrainConfig(
        dataset="market1501",
        data_dir=str(data_dir),
        output_dir=str(run_dir),
        batch_size=batch_size,
        steps=steps,
        device=device,
        seed=seed,
        validate_every=100,
        checkpoint_every=50,
        # Every synthetic person trains, and the figure printed is the synthetic test split's
        # (bench_quality --synthetic-only: CUHK03 rank-1 11.8% against 10.9% held out).
        validation="test-split",
        # Light dropout: 400 steps cannot afford the reference's 0.4 (CUHK03 rank-1 12.9%,
        # mAP 13.9% against 11.8% / 13.3%; bench_quality --synthetic-only --ablation dropout0.4).
        dropout=0.1,
        # The reference's starting weights and rate: He's at 3e-3 fit the synthetic people
        # better and transfer worse (CUHK03 rank-1 7.1% against 12.9%; --ablation he-init-lr3e-3).
        weight_init="reference",
        lr=1e-3,
        # No MixStyle: 400 steps cannot afford it (CUHK03 rank-1 5.3%; --ablation mixstyle).
        mixstyle=0.0,
    )


def run_demo(args: argparse.Namespace) -> int:
    from core.errors import DatasetError
    from synthetic.market1501 import other_settings, write_synthetic_market1501
    from training.resume import ResumeMismatch
    from training.train import train

    workdir = Path(args.workdir)
    data_dir = workdir / "market1501-synth"
    print(f"[1/4] Synthetic Market-1501 dataset in {data_dir}")
    dataset = main_job_datasets(args.train_identities, args.seed)
    difference = other_settings(data_dir, dataset)
    if difference:
        raise DatasetError(
            f"{data_dir} holds the synthetic people of an earlier main job or other options "
            f"({difference}).",
            f"Use a new --workdir, or delete {workdir} to run the main job again.",
        )
    write_synthetic_market1501(data_dir, dataset)

    run_dir = workdir / "run"
    print(f"[2/4] Training for {args.steps} steps in {run_dir} (rerun to resume)")
    try:
        summary = train(
            main_job_training(
                data_dir, run_dir, args.steps, args.batch_size, device=args.device, seed=args.seed
            )
        )
    except ResumeMismatch as mismatch:
        raise mismatch.told_for(
            "It was trained by an earlier main job or other options.",
            f"Use a new --workdir, or delete {run_dir} to train it again.",
        ) from None
    if summary["stopped_by_signal"]:
        return 130
    print(
        f"Validation rank-1 on {VALIDATED_ON[summary.get('validation', 'held-out')]}: "
        f"{_figure(summary['validation_rank1'])} "
        f"(untrained {_figure(summary['initial_validation_rank1'])}, "
        f"chance {_figure(summary['chance_rank1'])}); "
        f"{_figure(summary['images_per_second'], 1)} images/s on {summary['device']}."
    )

    checkpoint = summary["checkpoint"]
    frozen, onnx = workdir / "model.pb", workdir / "model.onnx"
    print(f"[3/4] Freezing {checkpoint} for deep_sort and exporting ONNX")
    _export_once(checkpoint, frozen, "frozen")
    _export_once(checkpoint, onnx, "onnx")
    if args.no_serve:
        return 0

    from serving.server import serve
    from serving.settings import make_settings

    print(f"[4/4] Serving {onnx} on http://127.0.0.1:{args.port} (Ctrl-C to stop). Try:")
    crop = next((data_dir / "query").glob("*.jpg"))
    print(f"      curl -s -F images=@{crop} http://127.0.0.1:{args.port}/embed")
    return serve(make_settings(model=str(onnx), host="127.0.0.1", port=args.port))
