"""The model contract: what every model this project writes takes and gives.

deep_sort's `tools/generate_detections.py` loads a frozen graph by these names and feeds it
crops of this shape, as OpenCV reads them (BGR); the graph converts colour and scale itself.
Every exported format (frozen graph, SavedModel, ONNX) and every engine honours the same.
"""

from __future__ import annotations

PATCH_HEIGHT = 128
PATCH_WIDTH = 64
PATCH_SHAPE = (PATCH_HEIGHT, PATCH_WIDTH)  # height, width of a crop fed to the network
IMAGE_SHAPE = (PATCH_HEIGHT, PATCH_WIDTH, 3)  # one crop, height x width x channels
FEATURE_DIM = 128  # length of the unit feature vector

INPUT_NAME = "images"  # uint8 (None, 128, 64, 3), BGR
OUTPUT_NAME = "features"  # float32 (None, 128), unit L2 norm
INPUT_DTYPE = "uint8"
OUTPUT_DTYPE = "float32"
COLOUR_ORDER = "BGR"

# How model cards describe the contract.
INPUT_CONTRACT = {
    "name": INPUT_NAME,
    "dtype": INPUT_DTYPE,
    "shape": [None, *IMAGE_SHAPE],
    "layout": f"NHWC, height {PATCH_HEIGHT}, width {PATCH_WIDTH}",
    "colour": (
        f"{COLOUR_ORDER}, as cv2.imread returns it; the model converts to RGB and scales by 1/255"
    ),
}
OUTPUT_CONTRACT = {
    "name": OUTPUT_NAME,
    "dtype": OUTPUT_DTYPE,
    "shape": [None, FEATURE_DIM],
    "norm": "unit L2",
}
