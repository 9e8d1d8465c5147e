"""Re-id augmentations of one uint8 training image, deterministic in a stateless seed.

Each transform takes an image (128, 64, 3) uint8 and a seed (2,) int64 and returns an image of
the same shape and dtype, so a resumed run sees exactly the images it would have seen.
"""

from __future__ import annotations

import math

import tensorflow as tf

REFERENCE_AUGMENTATIONS = ("flip",)

PAD_PIXELS = 10
ERASE_PROBABILITY = 0.5
ERASE_AREA = (0.02, 0.4)
ERASE_ASPECT = (0.3, 3.3)
JITTER = {"brightness": 0.2, "contrast": 0.15, "saturation": 0.15, "hue": 0.05}
BLUR_PROBABILITY = 0.2
GRAYSCALE_PROBABILITY = 0.1
SCALE_RANGE = (0.85, 1.0)
# Another camera's tone: exposure gain, gamma and per-channel white-balance gain, each drawn
# log-uniformly in [1 / r, r].
EXPOSURE_GAIN = 1.5
EXPOSURE_GAMMA = 1.25
WHITE_BALANCE_GAIN = 1.1
RESOLUTION_PROBABILITY = 0.5
RESOLUTION_RANGE = (0.4, 1.0)


def erasing_box(uniforms, height: int, width: int, area=ERASE_AREA, aspect=ERASE_ASPECT):
    """(top, left, box_height, box_width) of a random-erasing rectangle (Zhong et al. 2020).

    `uniforms` are four numbers in [0, 1): area fraction, log aspect, vertical and horizontal
    position. The rectangle always lies inside the image.
    """
    fraction = area[0] + uniforms[0] * (area[1] - area[0])
    log_aspect = math.log(aspect[0]) + uniforms[1] * (math.log(aspect[1]) - math.log(aspect[0]))
    ratio = tf.exp(log_aspect)
    target = fraction * height * width
    box_height = tf.clip_by_value(tf.round(tf.sqrt(target * ratio)), 1.0, float(height))
    box_width = tf.clip_by_value(tf.round(tf.sqrt(target / ratio)), 1.0, float(width))
    top = tf.floor(uniforms[2] * (height - box_height + 1.0))
    left = tf.floor(uniforms[3] * (width - box_width + 1.0))
    return (
        tf.cast(top, tf.int32),
        tf.cast(left, tf.int32),
        tf.cast(box_height, tf.int32),
        tf.cast(box_width, tf.int32),
    )


def _seeds(seed, count: int):
    return tf.unstack(tf.random.experimental.stateless_split(seed, count))


def random_erasing(image, seed):
    """With probability 1/2, fill a random rectangle with uniform noise."""
    gate_seed, box_seed, noise_seed = _seeds(seed, 3)
    height, width = image.shape[0], image.shape[1]
    top, left, box_height, box_width = erasing_box(
        tf.random.stateless_uniform([4], box_seed), height, width
    )
    rows = tf.range(height)[:, None]
    cols = tf.range(width)[None, :]
    inside = (rows >= top) & (rows < top + box_height) & (cols >= left) & (cols < left + box_width)
    erase = tf.random.stateless_uniform([], gate_seed) < ERASE_PROBABILITY
    noise = tf.random.stateless_uniform(image.shape, noise_seed, 0, 256, dtype=tf.int32)
    mask = tf.logical_and(inside, erase)[:, :, None]
    return tf.where(mask, tf.cast(noise, tf.uint8), image)


def pad_and_crop(image, seed):
    """Zero-pad by 10 pixels on each side and cut a random window of the original size."""
    height, width, channels = image.shape
    padded = tf.pad(image, [[PAD_PIXELS, PAD_PIXELS], [PAD_PIXELS, PAD_PIXELS], [0, 0]])
    return tf.image.stateless_random_crop(padded, (height, width, channels), seed)


def random_scale(image, seed):
    """Zoom in by 1 / s, s in [0.85, 1]: a crop of that size resized back, like a loose box."""
    height, width, _ = image.shape
    size_seed, place_seed = _seeds(seed, 2)
    s = tf.random.stateless_uniform([], size_seed, *SCALE_RANGE)
    crop_h = tf.cast(tf.round(s * height), tf.int32)
    crop_w = tf.cast(tf.round(s * width), tf.int32)
    offsets = tf.random.stateless_uniform([2], place_seed)
    top = tf.cast(offsets[0] * tf.cast(height - crop_h + 1, tf.float32), tf.int32)
    left = tf.cast(offsets[1] * tf.cast(width - crop_w + 1, tf.float32), tf.int32)
    crop = image[top : top + crop_h, left : left + crop_w]
    resized = tf.image.resize(crop, (height, width))
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def color_jitter(image, seed):
    """Mild brightness, contrast, saturation and hue changes (camera colour differences)."""
    seeds = _seeds(seed, 4)
    x = tf.cast(image, tf.float32) / 255.0
    x = tf.image.stateless_random_brightness(x, JITTER["brightness"], seeds[0])
    low, high = 1 - JITTER["contrast"], 1 + JITTER["contrast"]
    x = tf.image.stateless_random_contrast(x, low, high, seeds[1])
    low, high = 1 - JITTER["saturation"], 1 + JITTER["saturation"]
    x = tf.image.stateless_random_saturation(x, low, high, seeds[2])
    x = tf.image.stateless_random_hue(x, JITTER["hue"], seeds[3])
    return tf.cast(tf.clip_by_value(tf.round(x * 255.0), 0, 255), tf.uint8)


def log_uniform(uniforms, ratio: float):
    """Map uniforms in [0, 1) to factors log-uniform in [1 / ratio, ratio]."""
    return tf.exp((2.0 * uniforms - 1.0) * math.log(ratio))


def camera_tone(image, gain, gamma, white_balance):
    """The image as a camera of another exposure `gain`, `gamma` and per-channel `white_balance`
    (3,) would give it: gain * white_balance * x ** gamma on x in [0, 1], clipped, as uint8."""
    x = tf.cast(image, tf.float32) / 255.0
    y = gain * tf.cast(white_balance, tf.float32) * tf.pow(x, gamma)
    return tf.cast(tf.clip_by_value(tf.round(y * 255.0), 0, 255), tf.uint8)


def random_exposure(image, seed):
    """Another camera's exposure, contrast curve and white balance; hue and texture stay, so
    the person's clothing keeps its colour name while its brightness and tint change."""
    u = tf.random.stateless_uniform([5], seed)
    return camera_tone(
        image,
        log_uniform(u[0], EXPOSURE_GAIN),
        log_uniform(u[1], EXPOSURE_GAMMA),
        log_uniform(u[2:], WHITE_BALANCE_GAIN),
    )


def random_resolution(image, seed):
    """With probability 1/2, shrink by s in [0.4, 1] and enlarge back (bilinear): a far or
    low-resolution camera's softer crop."""
    gate_seed, size_seed = _seeds(seed, 2)
    height, width, _ = image.shape
    s = tf.random.stateless_uniform([], size_seed, *RESOLUTION_RANGE)
    small = (
        tf.maximum(tf.cast(tf.round(s * height), tf.int32), 1),
        tf.maximum(tf.cast(tf.round(s * width), tf.int32), 1),
    )
    shrunk = tf.image.resize(tf.cast(image, tf.float32), small, antialias=True)
    restored = tf.image.resize(shrunk, (height, width))
    restored = tf.cast(tf.clip_by_value(tf.round(restored), 0, 255), tf.uint8)
    apply = tf.random.stateless_uniform([], gate_seed) < RESOLUTION_PROBABILITY
    return tf.where(apply, restored, image)


def random_grayscale(image, seed):
    """With probability 0.1, the image's luma in all three channels (cameras whose colours
    disagree: the person must stay recognisable by shape and texture too)."""
    gray = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32)))
    gray = tf.cast(tf.clip_by_value(tf.round(gray), 0, 255), tf.uint8)
    return tf.where(tf.random.stateless_uniform([], seed) < GRAYSCALE_PROBABILITY, gray, image)


def random_blur(image, seed):
    """With probability 0.2, a 3x3 binomial blur (motion and focus blur of real cameras)."""
    kernel = tf.constant([1.0, 2.0, 1.0])
    kernel = tf.tensordot(kernel, kernel, axes=0) / 16.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, image.shape[-1], 1])
    x = tf.cast(image, tf.float32)[None]
    x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    blurred = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")[0]
    blurred = tf.cast(tf.clip_by_value(tf.round(blurred), 0, 255), tf.uint8)
    return tf.where(tf.random.stateless_uniform([], seed) < BLUR_PROBABILITY, blurred, image)


_TRANSFORMS = {
    "flip": tf.image.stateless_random_flip_left_right,
    "scale": random_scale,
    "pad-crop": pad_and_crop,
    "resolution": random_resolution,
    "color-jitter": color_jitter,
    "exposure": random_exposure,
    "grayscale": random_grayscale,
    "blur": random_blur,
    "erasing": random_erasing,
}


# Each transform's slot in the seed split: new transforms go at the end, so the recipes that
# do not use them see exactly the images they saw before.
_SEED_SLOTS = (
    "flip",
    "scale",
    "pad-crop",
    "color-jitter",
    "grayscale",
    "blur",
    "erasing",
    "resolution",
    "exposure",
)


def augment(image, seed, names: tuple[str, ...]):
    """Apply the named transforms in a fixed order (geometry, colour, blur, then erasing).

    The flip uses `seed` itself, so the flip-only recipe sees the same images as before.
    """
    order = [name for name in _TRANSFORMS if name in names]
    seeds = _seeds(seed, len(_SEED_SLOTS))
    for name in order:
        which = seed if name == "flip" else seeds[_SEED_SLOTS.index(name)]
        image = _TRANSFORMS[name](image, which)
    return image
