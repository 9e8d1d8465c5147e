"""deep_sort bridge: MOTChallenge I/O, generate_detections, tracking and MOT metrics.

`create_box_encoder` has deep_sort's signature, so deep_sort code swaps its appearance model by
changing one import. Nothing here imports TensorFlow unless a TensorFlow model is loaded.
"""

from deep_sort_bridge.box_encoder import create_box_encoder, create_remote_box_encoder

__all__ = ["create_box_encoder", "create_remote_box_encoder"]
