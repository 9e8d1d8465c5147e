"""Drop-in replacements for deep_sort's `tools/generate_detections.create_box_encoder`.

deep_sort code swaps the appearance model by changing one import:

    from deep_sort_bridge import create_box_encoder
    encoder = create_box_encoder("model.onnx", batch_size=32)
    features = encoder(bgr_image, boxes_tlwh)  # N x 128 float32

The model may be a `.onnx` file (ONNX Runtime, no TensorFlow needed), a frozen graph `.pb`
(deep_sort's own `mars-small128.pb` included) or a SavedModel folder. Boxes are cropped with
deep_sort's rules; a box that gives no crop still gets a row (encoded from a blank patch, where
deep_sort used random noise), so the output always has one row per box.
`create_remote_box_encoder` makes the same callable answered by an embedding service.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.contract import INPUT_NAME, OUTPUT_NAME
from core.errors import ModelError

BoxEncoder = Callable[[np.ndarray, np.ndarray], np.ndarray]


def create_box_encoder(
    model_filename: str,
    input_name: str = INPUT_NAME,
    output_name: str = OUTPUT_NAME,
    batch_size: int = 32,
    backend: str = "auto",
    threads: int | None = None,
) -> BoxEncoder:
    """`encoder(image, boxes) -> (N, 128) float32` for a BGR image and N boxes (x, y, w, h).

    `input_name` and `output_name` are accepted for deep_sort's signature; models must use
    deep_sort's tensor names `images` and `features` (every exported model and deep_sort's
    published ones do).
    """
    if (input_name, output_name) != (INPUT_NAME, OUTPUT_NAME):
        raise ModelError(
            f"Tensors named {input_name!r} -> {output_name!r} are not supported.",
            "Use a model with deep_sort's tensor names images -> features (re-export it with "
            "`reid freeze` or `reid export`).",
        )
    from encoder import Encoder

    image_encoder = Encoder(model_filename, backend=backend, batch_size=batch_size, threads=threads)

    def encoder(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return image_encoder.encode_boxes(image, boxes)

    encoder.image_encoder = image_encoder  # for callers that want dim, backend, model_card
    return encoder


def create_remote_box_encoder(url: str, api_key: str | None = None) -> BoxEncoder:
    """The same callable, answered by the embedding service at `url` (`reid serve`).

    The service crops the frame with the same rules (`POST /embed/boxes`).
    """
    from serving.client import EmbeddingClient

    client = EmbeddingClient(url, api_key=api_key)

    def encoder(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if not len(boxes):
            return np.zeros((0, 128), np.float32)
        return np.asarray(client.embed_boxes(image, boxes), np.float32)

    encoder.client = client
    return encoder
