"""Our embeddings for the `deep-sort-realtime` package's tracker (`DeepSort.update_tracks`).

    from deep_sort_realtime.deepsort_tracker import DeepSort
    from deep_sort_bridge.realtime import RealtimeEmbedder

    embedder = RealtimeEmbedder("model.onnx")
    tracker = DeepSort(embedder=None, max_cosine_distance=embedder.max_cosine_distance)
    for frame, detections in video:  # detections: [([left, top, w, h], confidence, class), ...]
        tracks = tracker.update_tracks(detections, embeds=embedder(frame, detections))

Crops follow deep_sort's rules (the box widened to the model's aspect ratio), exactly as
`reid generate-detections` cuts them, so the features equal that command's for the same boxes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.contract import FEATURE_DIM

DEFAULT_MAX_COSINE_DISTANCE = 0.2  # deep_sort's


def usable(detections: Sequence) -> list:
    """The detections `update_tracks` keeps (positive width and height), in their order."""
    return [d for d in detections if d[0][2] > 0 and d[0][3] > 0]


class RealtimeEmbedder:
    """Call with (BGR frame, deep-sort-realtime detections) to get their `embeds`.

    model: an `.onnx`, frozen `.pb` or SavedModel folder; batch_size: crops per engine call;
    backend / threads: as `Encoder`'s. The result has one unit feature per detection with a
    positive size, in order: `update_tracks` drops the others before pairing detections with
    embeddings, so the two lists line up.
    """

    def __init__(
        self, model: str, batch_size: int = 32, backend: str = "auto", threads: int | None = None
    ):
        from encoder import Encoder

        self.encoder = Encoder(model, backend=backend, batch_size=batch_size, threads=threads)

    @property
    def max_cosine_distance(self) -> float:
        """The model card's calibrated gate (`reid calibrate`), else deep_sort's 0.2."""
        from encoder.model_card import calibrated_gate

        gate = calibrated_gate(self.encoder.model_card)
        return gate if gate is not None else DEFAULT_MAX_COSINE_DISTANCE

    def __call__(self, frame: np.ndarray, detections: Sequence) -> list[np.ndarray]:
        kept = usable(detections)
        if not kept:
            return []
        boxes = np.array([d[0] for d in kept], np.float64).reshape(-1, 4)
        features = self.encoder.encode_boxes(frame, boxes)
        return list(np.asarray(features, np.float32).reshape(-1, FEATURE_DIM))
