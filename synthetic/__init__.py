"""Synthetic data: procedurally drawn people for re-id datasets and tracking sequences.

Lets training, evaluation, the demos and the tracking bridge run end to end without
downloading anything. The modules build on each other, each with one job:

* `appearance`: who a person is (clothing, hair, bag, body) and how they stand in one image;
* `canvas`, `drawing`: drawing a person into a BGRA box and pasting it onto a frame;
* `detail`: surface texture flat drawing lacks (cloth folds and grain, textured ground);
* `cameras`: how a camera sees the world (look, backgrounds, image formation);
* `crops`: re-id crops of people (at times beside a neighbour), distractors and junk as a camera
  records them;
* `market_plan`, `market1501`: the synthetic Market-1501 dataset, planned and written;
* `mot`: synthetic MOTChallenge sequences with ground truth and noisy detections;
* `cli`: the `reid synth market1501` and `reid synth mot` command lines.

Everything is deterministic given the seed: the same settings write byte-identical files.
Both writers save images with `core.images.write_jpeg_atomic`. This package stands on `core`
and third-party libraries only; it never imports TensorFlow.
"""
