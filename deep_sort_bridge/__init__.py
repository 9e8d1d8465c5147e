"""deep_sort bridge: MOTChallenge I/O, generate_detections, tracking and MOT metrics."""
