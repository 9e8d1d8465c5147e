"""Features of image files from a training checkpoint or an exported model, and their export.

`open_feature_model(path)` accepts what `reid evaluate` and `reid extract-features` take:

* a run directory, its checkpoints/ folder or a checkpoint prefix (this project's or the
  reference implementation's), loaded with `training.checkpoints` and run with TensorFlow on
  the training input pipeline (RGB, bilinear resize to 128 x 64);
* an exported model (.onnx, deep_sort .pb frozen graph, SavedModel folder), run with
  `encoder.Encoder` on images read by OpenCV (BGR, bilinear resize to 64 x 128), as a tracker
  would feed it. ONNX models need no TensorFlow.

`write_features` saves one split as .npy files (features, identities, cameras, tracklets,
paths) and as a MATLAB .mat file with the reference implementation's names (`feat_test.mat`
for the gallery, `feat_query.mat`, `feat_train.mat`; variable `features`, one row per image
in the split's order) for the official evaluation kits.
"""

from __future__ import annotations

import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.atomic import write_bytes_atomic
from core.errors import DatasetError, ModelError
from core.io import npy_bytes
from training.datasets.common import ImageSet

FEATURE_DIM = 128
MAT_NAMES = {"train": "feat_train.mat", "query": "feat_query.mat", "gallery": "feat_test.mat"}
_EXPORTED_SUFFIXES = (".onnx", ".pb")


def is_exported_model(path: str | Path) -> bool:
    """True for a .onnx / .pb file or a SavedModel folder, False for checkpoints and runs."""
    path = Path(path)
    if path.suffix.lower() in _EXPORTED_SUFFIXES:
        return True
    return path.is_dir() and (path / "saved_model.pb").is_file()


class FeatureModel:
    """Turns image files into unit 128-d features; `description` says what was loaded."""

    description: dict

    def extract(self, paths: np.ndarray, progress: bool = True, desc: str = "features"):
        """(len(paths), 128) float32 features, in the order of `paths`, with a progress bar."""
        paths = np.asarray(paths, dtype=str)
        out = np.empty((len(paths), FEATURE_DIM), dtype=np.float32)
        bar = tqdm(total=len(paths), desc=desc, unit="img", disable=not progress, leave=False)
        with bar:
            for start, batch in self._batches(paths):
                out[start : start + len(batch)] = batch
                bar.update(len(batch))
        return out

    def _batches(self, paths: np.ndarray):
        raise NotImplementedError

    def encode_crops(self, crops: np.ndarray) -> np.ndarray:
        """(N, 128) features of (N, 128, 64, 3) uint8 BGR patches, as deep_sort passes them."""
        raise NotImplementedError


class CheckpointFeatureModel(FeatureModel):
    """A training checkpoint run with TensorFlow in inference mode."""

    def __init__(self, path: str, batch_size: int):
        try:
            import tensorflow as tf
        except ImportError:
            raise ModelError(
                f"Reading the checkpoint {path} needs TensorFlow, which is not installed here.",
                "Install the training extras (pip install 'reid-deepsort[train]'), or evaluate "
                "an exported .onnx model instead.",
            ) from None

        from training.checkpoints import load_network, resolve_checkpoint

        source = resolve_checkpoint(path)
        self.model = load_network(source)
        self.batch_size = batch_size
        # Batches of any size (the last of a list, a frame's detections) share one trace.
        self._forward = tf.function(
            lambda images: self.model(images, training=False), reduce_retracing=True
        )
        self.description = {
            "path": os.path.abspath(path),
            "kind": "checkpoint",
            "checkpoint": os.path.abspath(source.prefix),
            "checkpoint_kind": source.kind,
            "run_dir": source.run_dir and os.path.abspath(source.run_dir),
        }

    def _batches(self, paths):
        import tensorflow as tf

        from training.pipeline import inference_dataset

        start = 0
        batches = iter(inference_dataset(paths, self.batch_size))
        while True:
            try:
                images = next(batches)
            except StopIteration:
                return
            except tf.errors.OpError as error:
                first = re.sub(r"\{\{[^}]*\}\}|\[\[.*?\]\]|\[Op:\w+\].*", "", str(error.message))
                first = " ".join(first.split())[:300]
                raise DatasetError(
                    f"An image near position {start} of {len(paths)} cannot be read: {first}",
                    "Remove or replace the file; the dataset readers skip files that are "
                    "corrupt when the dataset is opened.",
                ) from None
            features = self._forward(images).numpy()
            yield start, features
            start += len(features)

    def encode_crops(self, crops):
        from training.pipeline import to_network_input

        rgb = np.ascontiguousarray(np.asarray(crops, np.uint8)[..., ::-1])
        return self._forward(to_network_input(rgb)).numpy()


class ExportedFeatureModel(FeatureModel):
    """An exported model run by `encoder.Encoder` on OpenCV-read images."""

    def __init__(self, path: str, batch_size: int, threads: int | None = None):
        from encoder.runtime import Encoder

        self.encoder = Encoder(path, batch_size=batch_size, threads=threads)
        self.batch_size = batch_size
        self.description = {
            "path": os.path.abspath(path),
            "kind": self.encoder.model_format,
            "backend": self.encoder.backend,
            "sha256": self.encoder.sha256,
        }

    def _batches(self, paths):
        from encoder.crops import read_crop

        with ThreadPoolExecutor(max_workers=4) as pool:
            for start in range(0, len(paths), self.batch_size):
                chunk = paths[start : start + self.batch_size]
                crops = np.stack(list(pool.map(lambda p: read_crop(Path(p)), chunk)))
                yield start, self.encoder.encode(crops)

    def encode_crops(self, crops):
        return self.encoder.encode(crops)


def open_feature_model(path: str, batch_size: int = 128) -> FeatureModel:
    """The model at `path`: an exported model, or else a checkpoint / run directory."""
    if batch_size < 1:
        raise ModelError(f"The batch size must be at least 1 (got {batch_size}).", "Pass e.g. 128.")
    if not Path(path).exists() and not Path(f"{path}.index").exists():
        raise ModelError(
            f"No model or checkpoint at {path}.",
            "Pass a run directory (runs/NAME), a checkpoint prefix (.../checkpoints/ckpt-N), "
            "or an exported model (.onnx, .pb, SavedModel folder).",
        )
    if is_exported_model(path):
        return ExportedFeatureModel(path, batch_size)
    return CheckpointFeatureModel(path, batch_size)


def _mat_bytes(variables: dict) -> bytes:
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, variables, do_compression=False, oned_as="column")
    return buffer.getvalue()


def write_features(
    out_dir: str | Path, split: str, images: ImageSet, features: np.ndarray
) -> list[Path]:
    """Write one split's features and labels (.npy and .mat); returns the files written."""
    out_dir = Path(out_dir)
    arrays = {
        "features": features.astype(np.float32),
        "identities": images.identities.astype(np.int64),
        "cameras": images.cameras.astype(np.int64),
    }
    if images.tracklets is not None:
        arrays["tracklets"] = images.tracklets.astype(np.int64)
    written = []
    for name, array in arrays.items():
        target = out_dir / f"{split}_{name}.npy"
        write_bytes_atomic(target, npy_bytes(array))
        written.append(target)
    paths_file = out_dir / f"{split}_paths.txt"
    write_bytes_atomic(paths_file, "".join(f"{p}\n" for p in images.paths).encode())
    written.append(paths_file)
    mat = out_dir / MAT_NAMES[split]
    variables = {**arrays, "paths": np.asarray(images.paths, dtype=object)}
    write_bytes_atomic(mat, _mat_bytes(variables))
    written.append(mat)
    return written


@dataclass(frozen=True)
class PathFeatures:
    """Features of distinct image paths (sorted), looked up by path."""

    paths: np.ndarray  # str, sorted, distinct
    features: np.ndarray  # float32 (len(paths), 128)

    def of(self, wanted) -> np.ndarray:
        """Feature rows for `wanted` paths (each must be among `paths`)."""
        wanted = np.asarray(wanted, dtype=str)
        where = np.minimum(np.searchsorted(self.paths, wanted), max(len(self.paths) - 1, 0))
        if len(wanted) and (len(self.paths) == 0 or np.any(self.paths[where] != wanted)):
            raise KeyError("features were not extracted for some of the requested images")
        return self.features[where]


def extract_distinct(model: FeatureModel, paths, progress: bool = True) -> PathFeatures:
    """Extract every distinct path once (MARS query images are also gallery images)."""
    unique = np.unique(np.asarray(paths, dtype=str))
    return PathFeatures(unique, model.extract(unique, progress=progress))
