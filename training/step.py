"""One optimiser step: the optimisers of a run and the step function that applies them.

The step trains the feature (cosine-softmax and/or a metric loss on the unit features) and,
when the run has one, the pooled branch (training.heads.PooledBranch) with the same loss on its
own features, weighted by `pooled_weight`, and, with --colour-prior, the order of each crop's
neighbours as colour histograms of stripes see it (training.colour_prior). With
--share-columns, fc1's gradient is shared across each row's columns
(training.network.share_columns) before the optimiser applies it.
"""

from __future__ import annotations

from core.errors import ReidError


def make_optimizers(config, model, heads, plan) -> list[tuple[object, list]]:
    """[(optimizer, its variables)]: one for all, or the heads' own at the full rate.

    `heads` are the training-only layers (cosine-softmax heads, the pooled branch). With
    --backbone-lr-scale below 1 the feature extractor gets its own optimiser at the lower rate
    (scaling gradients would not do: Adam's steps do not depend on the gradient's scale).
    """
    import keras

    from training import devices
    from training.schedules import learning_rate_schedule

    def optimizer(scale: float):
        rate = learning_rate_schedule(
            config.lr_schedule, config.lr * scale, config.steps, config.warmup_fraction
        )
        if config.optimizer == "sgd":
            chosen = keras.optimizers.SGD(learning_rate=rate, momentum=0.9, nesterov=True)
        else:
            chosen = keras.optimizers.Adam(learning_rate=rate)
        return devices.wrap_optimizer(chosen, plan)

    backbone = list(model.trainable_variables)
    head_variables = [v for head in heads for v in head.trainable_variables]
    if config.backbone_lr_scale == 1.0 or not head_variables:
        groups = [(optimizer(1.0), backbone + head_variables)]
    elif plan.loss_scaling:
        raise ReidError(
            "--backbone-lr-scale below 1 cannot be combined with float16 loss scaling (GPU "
            "mixed precision): the two optimisers would scale the loss differently.",
            "Add --precision fp32, or fine-tune with --backbone-lr-scale 1.",
        )
    else:
        groups = [(optimizer(config.backbone_lr_scale), backbone), (optimizer(1.0), head_variables)]
    for optimizer, variables in groups:
        optimizer.build(variables)
    return groups


def make_train_step(view, head, pooled, optimizers, step, config, plan, topology):
    """One optimiser step over the global batch, as a tf.function reading a batch iterator.

    view: the training view of the network (training.network.training_view); it returns the
        last feature map as well when `pooled` is given.
    head: the cosine-softmax head of the features, or None (metric loss alone).
    pooled: (PooledBranch, its cosine-softmax head or None), or None without a branch.
    """
    import functools

    import tensorflow as tf

    from training import distribute
    from training.colour_prior import similarity_correlation_loss, stripe_histograms
    from training.losses import (
        batch_hard_triplet_loss,
        cosine_softmax_loss,
        magnet_loss,
        weighted_triplet_loss,
    )
    from training.network import FC1, last_map_shape, share_columns

    metric_losses = {
        "magnet": magnet_loss,
        "triplet": batch_hard_triplet_loss,
        "weighted-triplet": functools.partial(
            weighted_triplet_loss, sharpness=config.triplet_sharpness
        ),
    }
    metric_name = config.loss.removeprefix("cosine-softmax+")
    metric_loss = None if metric_name == "cosine-softmax" else metric_losses[metric_name]
    metric_weight = config.triplet_weight if head is not None else 1.0
    strategy = topology.strategy
    variables = [v for _, group in optimizers for v in group]
    # --share-columns: fc1's kernel gets one gradient per row of the map's columns, so Adam moves
    # the tied weights alike and they stay tied.
    shared = None
    if config.share_columns:
        kernel = view.get_layer(FC1).kernel
        shared = next(i for i, v in enumerate(variables) if v is kernel)
        map_shape = last_map_shape(view)

    def task_loss(features, labels, classifier):
        """The run's loss on unit `features`, and the classifier's accuracy (NaN without)."""
        loss = tf.constant(0.0)
        accuracy = tf.constant(float("nan"))
        if classifier is not None:
            cosines = classifier.cosines(features)
            logits = classifier.logits(cosines, labels)
            loss += cosine_softmax_loss(logits, labels, config.label_smoothing)
            predictions = tf.argmax(cosines, axis=1, output_type=tf.int32)
            accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, labels), tf.float32))
        if metric_loss is not None:
            loss += metric_weight * metric_loss(tf.cast(features, tf.float32), labels)
        return loss, accuracy

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            outputs = view(images, training=True)
            features = outputs[0] if pooled is not None else outputs
            loss, accuracy = task_loss(features, labels, head)
            if config.colour_prior:
                prior = stripe_histograms(images)
                loss += config.colour_prior * similarity_correlation_loss(features, prior)
            if pooled is not None:
                branch, branch_head = pooled
                pooled_features = branch(outputs[1], training=True)
                pooled_loss, _ = task_loss(pooled_features, labels, branch_head)
                loss += config.pooled_weight * pooled_loss
            parts = [part for part in (view, head, *(pooled or ())) if part is not None]
            penalties = [tf.cast(x, tf.float32) for part in parts for x in part.losses]
            loss += tf.add_n(penalties)
            # Gradients are summed over replicas, so each contributes its share of the mean.
            replica_loss = loss / strategy.num_replicas_in_sync
            if plan.loss_scaling:
                replica_loss = optimizers[0][0].scale_loss(replica_loss)
        gradients = tape.gradient(replica_loss, variables)
        if shared is not None:
            gradients[shared] = share_columns(gradients[shared], map_shape)
        if topology.npu_ranks > 1:
            gradients = distribute.npu_all_reduce_gradients(gradients)
        start = 0
        for optimizer, group in optimizers:
            optimizer.apply(gradients[start : start + len(group)], group)
            start += len(group)
        return loss, accuracy

    @tf.function(reduce_retracing=True)
    def train_step(batches):
        images, labels = next(batches)
        loss, accuracy = strategy.run(replica_step, args=(images, labels))
        step.assign_add(1)
        mean = tf.distribute.ReduceOp.MEAN
        return strategy.reduce(mean, loss, axis=None), strategy.reduce(mean, accuracy, axis=None)

    return train_step
