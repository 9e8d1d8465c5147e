"""A hand-crafted prior for the embedding: how alike two crops' colours are, stripe by stripe.

Colour histograms of horizontal stripes (evaluation.colour_histogram) tell real people apart
with nothing learned, where a network trained briefly on synthetic people barely does. The
identity losses only ask that people be apart, not how far apart; `similarity_correlation_loss`
asks the embedding to order each crop's neighbours in the batch as the stripe histograms do, so
people never seen in training still land near those dressed alike. Measured on the main job
and not adopted (docs/quality/README.md): off unless --colour-prior is given.
"""

from __future__ import annotations

import math

STRIPES = 6
BINS = (8, 4, 4)  # hue, saturation, value


def stripe_histograms(images, stripes: int = STRIPES, bins: tuple[int, int, int] = BINS):
    """(N, stripes * prod(bins)) unit features of (N, H, W, 3) RGB images in [0, 1]: the
    square-rooted HSV histograms of evaluation.colour_histogram.stripe_histograms, in the graph.
    """
    import tensorflow as tf

    hsv = tf.image.rgb_to_hsv(tf.clip_by_value(tf.cast(images, tf.float32), 0.0, 1.0))
    cells = tf.zeros(tf.shape(hsv)[:3], tf.int32)
    for channel, count in enumerate(bins):
        index = tf.cast(tf.floor(hsv[..., channel] * count), tf.int32)
        cells = cells * count + tf.minimum(index, count - 1)
    per_stripe = math.prod(bins)
    height = images.shape[1]
    bounds = [height * s // stripes for s in range(stripes + 1)]
    parts = []
    for s in range(stripes):
        band = tf.one_hot(cells[:, bounds[s] : bounds[s + 1]], per_stripe)
        parts.append(tf.sqrt(tf.reduce_mean(band, axis=[1, 2])))
    return tf.math.l2_normalize(tf.concat(parts, axis=1), axis=1)


def similarity_correlation_loss(features, prior):
    """1 - the mean correlation, over the rows, of the features' cosine similarities with the
    prior's, each crop's similarity to itself left out: 0 when every crop ranks the others as
    the prior does (up to scale and offset), 1 when unrelated. Both inputs are unit rows."""
    import tensorflow as tf

    features = tf.cast(features, tf.float32)
    count = tf.shape(features)[0]
    off_diagonal = 1.0 - tf.eye(count)
    pairs = tf.cast(count - 1, tf.float32)

    def centred(similarities):
        mean = tf.reduce_sum(similarities * off_diagonal, axis=1, keepdims=True) / pairs
        values = (similarities - mean) * off_diagonal
        return values * tf.math.rsqrt(tf.reduce_sum(values**2, axis=1, keepdims=True) + 1e-12)

    learned = centred(tf.matmul(features, features, transpose_b=True))
    wanted = centred(tf.matmul(prior, prior, transpose_b=True))
    return 1.0 - tf.reduce_mean(tf.reduce_sum(learned * wanted, axis=1))
