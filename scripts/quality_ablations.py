"""The rows bench_quality.py can train: recipe ablations on CUHK03 (ABLATIONS: TrainConfig fields
that differ from the defaults of `reid train`) and variants of the main job (SYNTHETIC_ABLATIONS).
A comment above each says why it was tried; the table in docs/quality/README.md says how it went."""

# The reference implementation's recipe, as `reid train` ran before these defaults.
REFERENCE = {
    "weight_init": "reference",
    "lr": 1e-3,
    "mixstyle": 0.0,
    "augmentations": "flip",
    "initial_kappa": None,
    "fixed_kappa": None,
    "margin": 0.0,
    "label_smoothing": 0.0,
    "lr_schedule": "constant",
    "warmup_fraction": 0.0,
    "loss": "cosine-softmax",
    "weight_decay": 1e-8,
    "precision": "fp32",
    "validation": "held-out",
}
SCALED = {**REFERENCE, "fixed_kappa": 16.0, "lr_schedule": "cosine", "warmup_fraction": 0.1,
          "label_smoothing": 0.1}  # fmt: skip
ALL_AUGMENTATIONS = "flip,scale,pad-crop,color-jitter,blur,erasing"
HE_3E3 = {"weight_init": "he", "lr": 3e-3, "mixstyle": 0.0}
# "init_from": the main job's run that `bench_quality.py --synthetic-only` trains (same seed).
MAIN_JOB_RUN = "main-job"

# name -> TrainConfig fields that differ from the defaults of `reid train`. The rows built on
# REFERENCE spell every recipe field out, so they mean the same whatever the defaults become.
ABLATIONS: dict[str, dict] = {
    # Validate on CUHK03's test split and train on all 743 identities (not adopted).
    "test-split-validation": {"validation": "test-split"},
    "reference": REFERENCE,
    "reference-kappa10": {**REFERENCE, "initial_kappa": 10.0},
    "reference-cosine": {**REFERENCE, "lr_schedule": "cosine", "warmup_fraction": 0.1},
    # The first candidate defaults: fixed scale, smoothing, BoT augmentations, no triplet term.
    "fixed16-ls-padcrop-erasing": {
        **SCALED,
        "augmentations": "flip,pad-crop,erasing",
    },
    "reference-cosine-triplet": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "loss": "cosine-softmax+triplet",
    },
    "reference-cosine-triplet-padcrop-erasing": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "loss": "cosine-softmax+triplet",
        "augmentations": "flip,pad-crop,erasing",
    },
    "reference-cosine-kappa4": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "initial_kappa": 4.0,
    },
    "reference-cosine-padcrop-erasing": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "augmentations": "flip,pad-crop,erasing",
    },
    "default-bf16": {"precision": "mixed"},
    "default-flip-only": {"augmentations": "flip"},
    "default-learned-kappa": {"fixed_kappa": None},
    "default-all-augment": {"augmentations": ALL_AUGMENTATIONS},
    "default-triplet": {"loss": "cosine-softmax+triplet"},
    # Screens of the new defaults for generalisation to unseen cameras.
    "default-color-jitter": {"augmentations": "flip,color-jitter"},
    "default-padcrop": {"augmentations": "flip,pad-crop"},
    "default-erasing": {"augmentations": "flip,erasing"},
    "default-wd5e-4": {"weight_decay": 5e-4},
    "default-lr3e-3": {"lr": 3e-3},
    # The learned scale starts at softplus(0) = 0.69 and ends near 1.3: the softmax term is weak.
    "default-kappa10": {"initial_kappa": 10.0},
    # 16 people x 8 images per batch: each person seen twice as often, half as many per batch.
    "default-k8": {"images_per_identity": 8},
    # Padding + random crop and random erasing together, at the full budget (the BoT pair).
    "default-padcrop-erasing": {"augmentations": "flip,pad-crop,erasing"},
    # ... with zoom too: CUHK03's test crops are tighter boxes than its training crops.
    "default-scale-padcrop-erasing": {"augmentations": "flip,scale,pad-crop,erasing"},
    # Every regulariser tried so far cost fitting in this budget: less dropout than 0.4.
    "default-dropout0.1": {"dropout": 0.1},
    # Validation rank-1 dips at the peak rate and rises in the decay: a lower peak (BoT's 3.5e-4).
    "default-lr5e-4": {"lr": 5e-4},
    # The softmax term stays gentle (scale near 1); the triplet term does the separating.
    "default-triplet2": {"triplet_weight": 2.0},
    # ... and no softmax term at all: batch-hard triplet alone (Hermans et al. train from scratch).
    "default-triplet-only": {"loss": "triplet"},
    # Adam moves each weight by about the rate per step: at the reference's 1e-3 starting scale
    # that is a large share of every kernel, every step. He's fan-in scale instead.
    "default-he-init": {"weight_init": "he"},
    # At He's scale the same rate turns the kernels ~7x more slowly late in the run: a higher one.
    "default-he-init-lr3e-3": {"weight_init": "he", "lr": 3e-3},
    # That recipe fits the training people in the budget (98% against 77%): regularise it.
    "default-he-init-lr3e-3-padcrop-erasing": {
        "weight_init": "he",
        "lr": 3e-3,
        "augmentations": "flip,pad-crop,erasing",
    },
    "default-he-init-lr3e-3-ls0.1": {"weight_init": "he", "lr": 3e-3, "label_smoothing": 0.1},
    # CUHK03's training crops, ~107 x 302, are shrunk bilinearly (aliased, sharp: Laplacian
    # variance ~4,500); CUHK03-extra ships smoothly pre-resized to 64 x 128 (~2,600).
    "default-blur": {"augmentations": "flip,blur"},
    # CUHK03's camera pairs disagree on colour: one crop in ten in grey.
    "default-grayscale": {"augmentations": "flip,grayscale"},
    # New cameras differ in exposure, tone curve and white balance (CUHK03-extra's pairs more than
    # the training pair), and some see people smaller or softer: screened on He's steadier init.
    "he-lr3e-3-exposure": {**HE_3E3, "augmentations": "flip,exposure"},
    "he-lr3e-3-resolution": {**HE_3E3, "augmentations": "flip,resolution"},
    # Mixing feature statistics between images in training (MixStyle, p = 0.5); then today's
    # defaults with a larger starting scale, a higher rate, weight decay, random erasing.
    "he-lr3e-3-mixstyle": {**HE_3E3, "mixstyle": 0.5},  # today's defaults: DEFAULTS_ROW
    # A second, training-only loss on the last feature map averaged over positions
    # (training.heads.PooledBranch): features that do not depend on where the person stands.
    "mixstyle-pooled0.5": {**HE_3E3, "mixstyle": 0.5, "pooled_weight": 0.5},
    # fc1 reads each row's columns through one set of weights (--share-columns): features of
    # horizontal stripes, as hand-made re-id features and part models describe people, wherever
    # a person stands left or right in the box; 2.1 M of fc1's weights become 262 k.
    "mixstyle-share-columns": {**HE_3E3, "mixstyle": 0.5, "share_columns": True},
    "mixstyle-kappa10": {**HE_3E3, "mixstyle": 0.5, "initial_kappa": 10.0},
    # The triplet term on softmax-weighted positives and negatives (AGW's weighted triplet): each
    # step learns from every pair of the batch, not one pair per anchor, for a network that
    # underfits in this budget.
    "mixstyle-weighted-triplet": {
        **HE_3E3,
        "mixstyle": 0.5,
        "loss": "cosine-softmax+weighted-triplet",
    },
    # ... with weights sharp enough for unit features (AGW's are long and unnormalised): the
    # hardest few pairs of each anchor weigh most, the rest still teach.
    "mixstyle-weighted-triplet-s10": {
        **HE_3E3,
        "mixstyle": 0.5,
        "loss": "cosine-softmax+weighted-triplet",
        "triplet_sharpness": 10.0,
    },
    "mixstyle-lr6e-3": {**HE_3E3, "mixstyle": 0.5, "lr": 6e-3},
    # MixStyle regularises already; dropout 0.1 led the previous defaults' full-budget rows
    # (54.5% against 54.1%): less dropout on today's.
    "mixstyle-dropout0.1": {**HE_3E3, "mixstyle": 0.5, "dropout": 0.1},
    "mixstyle-wd5e-4": {**HE_3E3, "mixstyle": 0.5, "weight_decay": 5e-4},
    "mixstyle-erasing": {**HE_3E3, "mixstyle": 0.5, "augmentations": "flip,erasing"},
    # CUHK03's test crops are tighter than its training crops (detector boxes): zoom in.
    "mixstyle-scale": {**HE_3E3, "mixstyle": 0.5, "augmentations": "flip,scale"},
    # bfloat16 compute (--precision mixed), 1.13x fp32's speed here (docs/performance).
    "mixstyle-bf16": {**HE_3E3, "mixstyle": 0.5, "precision": "mixed"},
    # An additive cosine margin on the true class (CosFace): people kept further apart.
    "mixstyle-margin0.25": {**HE_3E3, "mixstyle": 0.5, "margin": 0.25},
    "mixstyle-margin0.5": {**HE_3E3, "mixstyle": 0.5, "margin": 0.5},
    # Two images per person, 64 people per batch: more negatives for the batch-hard triplet term.
    "mixstyle-k2": {**HE_3E3, "mixstyle": 0.5, "images_per_identity": 2},
    # Style noise (DSU) in MixStyle's place: statistics moved beyond the batch's own styles.
    "he-lr3e-3-dsu": {**HE_3E3, "style_uncertainty": 0.5},
    # Batches of look-alike people (groups of 4 the classifier confuses): harder triplets.
    "mixstyle-look-alikes3": {**HE_3E3, "mixstyle": 0.5, "look_alikes": 3},
    # The main job's 200 synthetic people trained beside CUHK03's ("synthetic_people" is not a
    # TrainConfig field: it adds that synthetic set as a second dataset): many more cameras than
    # CUHK03's two, for the camera pairs training never saw.
    "mixstyle+synthetic200": {**HE_3E3, "mixstyle": 0.5, "synthetic_people": 200},
    # Half the crops shrunk to 40-100% and enlarged back: CUHK03-extra's cameras ship softer
    # crops (Laplacian variance ~2,600) than CUHK03-detected's shrunk ones (~4,500), as far or
    # low-resolution cameras do.
    "mixstyle-resolution": {**HE_3E3, "mixstyle": 0.5, "augmentations": "flip,resolution"},
    # SGD with Nesterov momentum in Adam's place, with the usual weight decay (5e-4) that SGD
    # turns into a steady shrink: studies of out-of-distribution tests find plain momentum ahead
    # of adaptive steps, and the unseen camera pairs are such a test.
    "mixstyle-sgd": {
        **HE_3E3,
        "mixstyle": 0.5,
        "optimizer": "sgd",
        "lr": 0.05,
        "weight_decay": 5e-4,
    },
    # SGD's steps scale with the gradient, which the gentle learned scale (kappa near 1) keeps
    # small: a rate four times higher, or the fixed scale 16 that makes the gradients larger.
    "mixstyle-sgd-lr0.2": {
        **HE_3E3,
        "mixstyle": 0.5,
        "optimizer": "sgd",
        "lr": 0.2,
        "weight_decay": 5e-4,
    },
    # Start from the main job's model (its synthetic people), not from random weights: the first
    # few hundred steps on CUHK03 learn edges and colours the synthetic training already taught.
    # `bench_quality.py --synthetic-only` trains that run first.
    "mixstyle-from-main-job": {**HE_3E3, "mixstyle": 0.5, "init_from": MAIN_JOB_RUN},
    # The validation rank-1 still climbs when the 1,500 steps end and 3,000 steps score higher:
    # the network is short of training, not of regularisation, so no dropout at all.
    "mixstyle-dropout0": {**HE_3E3, "mixstyle": 0.5, "dropout": 0.0},
    "mixstyle-sgd-kappa16": {
        **HE_3E3,
        "mixstyle": 0.5,
        "optimizer": "sgd",
        "lr": 0.05,
        "weight_decay": 5e-4,
        "fixed_kappa": 16.0,
    },
}


# The row that spells out today's defaults of `reid train`: bench_quality runs it when no
# --ablation is named, so every run of the defaults pools under one name in --compare.
DEFAULTS_ROW = "he-lr3e-3-mixstyle"

# The defaults of `reid train` until MixStyle on He's starting weights replaced them: the rows
# "default-*" named above were measured as changes of these, and keep that meaning.
PREVIOUS_DEFAULTS = {"weight_init": "reference", "lr": 1e-3, "mixstyle": 0.0}
ABLATIONS["previous-default"] = {}
ABLATIONS.update(
    {
        name: {**PREVIOUS_DEFAULTS, **changes}
        for name, changes in ABLATIONS.items()
        if name.startswith(("default-", "previous-default", "test-split-validation"))
    }
)


# Variants of the main job (--synthetic-only --ablation NAME): "people" is the number of
# synthetic training identities, the other keys are fields of TrainConfig or of the synthetic
# dataset (SynthConfig); the length stays. Each says what it ran: rows measured before the main
# job chose dropout 0.1 ran the reference's 0.4, rows before camera strength 0.25 ran 1.0.
_DROPOUT_BEFORE = {"dropout": 0.4}
_CAMERAS_BEFORE = {"camera_strength": 1.0}
_BEFORE = {**_DROPOUT_BEFORE, **_CAMERAS_BEFORE}
SYNTHETIC_ABLATIONS: dict[str, dict] = {
    "main-job": {},
    # The main job before its choices: cameras at full strength, then with dropout 0.4 too.
    "camera-strength-1": _CAMERAS_BEFORE,
    "dropout0.4": _BEFORE,
    "held-out-validation": {"validation": "held-out", **_BEFORE},
    "400-people": {"people": 400, **_BEFORE},
    "detector-augment": {"augmentations": "flip,scale,pad-crop,blur", **_BEFORE},
    # Domain randomisation: synthetic colours are purer than a real camera's.
    "color-jitter": {"augmentations": "flip,color-jitter", **_BEFORE},
    "padcrop-erasing": {"augmentations": "flip,pad-crop,erasing", **_BEFORE},
    # Milder camera differences (colour casts, tone, blur) than the generator's default.
    "camera-strength-0.5": {"camera_strength": 0.5, **_DROPOUT_BEFORE},
    # People widened up to 1.35x, as dataset crops of boxes narrower than 1:2 show them.
    "box-stretch-1.35": {"box_stretch": 1.35, **_BEFORE},
    # He's starting weights at three times the rate, as measured on CUHK03.
    "he-init-lr3e-3": {"weight_init": "he", "lr": 3e-3, **_CAMERAS_BEFORE},
    "he-init": {"weight_init": "he", **_CAMERAS_BEFORE},
    # The main job's dropout 0.1 with the milder cameras, each a gain measured alone.
    "camera-strength-0.5-dropout0.1": {"camera_strength": 0.5},
    "triplet-only": {"loss": "triplet", **_CAMERAS_BEFORE},
    # Real cameras differ from the generator's in style: mix feature statistics, vary the tone.
    "mixstyle": {"mixstyle": 0.5, **_CAMERAS_BEFORE},
    "exposure": {"augmentations": "flip,exposure", **_CAMERAS_BEFORE},
    # Neutral cameras (CUHK03's shift colour less than the generator's), weight decay.
    "camera-strength-0": {"camera_strength": 0.0},
    "wd5e-4": {"weight_decay": 5e-4, **_CAMERAS_BEFORE},
    # On the milder cameras: each person in more images, the triplet loss alone, a faster rate.
    "cam0.25-images8": {"camera_strength": 0.25, "images_per_camera": 8},
    "cam0.25-triplet-only": {"camera_strength": 0.25, "loss": "triplet"},
    "cam0.25-lr2e-3": {"camera_strength": 0.25, "lr": 2e-3},
    # Zoomed in: real crops fill the box with the person more than the generator's framing.
    "cam0.25-scale": {"camera_strength": 0.25, "augmentations": "flip,scale"},
    # Softer targets: less confidence in the synthetic people, more left for real ones.
    "cam0.25-ls0.1": {"camera_strength": 0.25, "label_smoothing": 0.1},
    # An additive cosine margin on the true class (CosFace), as screened on CUHK03.
    "margin0.25": {"margin": 0.25},
    # Surface detail real crops show and flat drawing lacks: cloth folds and grain, textured
    # ground, railings (synthetic.detail).
    "detail1": {"detail": 1.0},
    # Two images per person, 32 people per batch of 64 (more negatives for the triplet term).
    "k2": {"images_per_identity": 2},
    # People widened up to 1.5x on today's main job: detectors' boxes of walking people are
    # often 1:2.5 to 1:3, and resized to 1:2 they widen the person by that much.
    "box-stretch-1.5": {"box_stretch": 1.5},
    # Half the crops hold part of a neighbouring pedestrian at a side, as crowds put in boxes.
    "neighbours0.5": {"neighbours": 0.5},
    # Batches of look-alike people (groups of 4 the classifier confuses): harder triplets.
    "look-alikes3": {"look_alikes": 3},
    # Half the crops shrunk to 40-100% and enlarged back: real crops are softer than drawn ones.
    "resolution": {"augmentations": "flip,resolution"},
    # SGD with Nesterov momentum, as it generalised better to CUHK03-extra's unseen cameras on one
    # seed; the rate of the batch-128 CUHK03 row halved for batches of 64. On the reference's
    # starting weights, and on He's (the scale SGD was measured with on CUHK03).
    "sgd-lr0.1": {"optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4},
    "he-init-sgd-lr0.1": {"optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4, "weight_init": "he"},
    # The two rows that scored above the main job's seed 0 (rate 2e-3: 15.5%, margin 0.25:
    # 15.1%), together.
    "lr2e-3-margin0.25": {"lr": 2e-3, "margin": 0.25},
    # A training-only loss on the last feature map averaged over positions: synthetic people
    # stand where the generator puts them, real ones where a detector's box does.
    "pooled0.5": {"pooled_weight": 0.5},
    # The triplet term on softmax-weighted positives and negatives of every pair of the batch.
    "weighted-triplet": {"loss": "cosine-softmax+weighted-triplet"},
    "weighted-triplet-s10": {"loss": "cosine-softmax+weighted-triplet", "triplet_sharpness": 10.0},
    # fc1 sharing weights across each row's columns: stripe features, which the colour
    # histograms of stripes show transfer to real people (CUHK03 rank-1 16.9% with nothing
    # learned), wherever the person stands left or right.
    "share-columns": {"share_columns": True},
    # No dropout at all: 0.1 transferred better than the reference's 0.4 in 400 steps; 0 next.
    "dropout0": {"dropout": 0.0},
    # Half the people, each seen twice as often: 400 people transferred worse than 200 (9.1%
    # against 11.8%), so the 400 steps may be too few to learn 200 well.
    "100-people": {"people": 100},
    # The reference's loss, cosine-softmax alone: the triplet term alone transferred worse
    # (13.7% against 14.4%), so the softmax term may carry the transfer.
    "softmax-only": {"loss": "cosine-softmax"},
    # The learned scale starts at 10, not softplus(0) = 0.69: 400 steps leave it near 1, where
    # the softmax cannot become confident about any synthetic person.
    "kappa10": {"initial_kappa": 10.0},
    # The softmax term alone transferred far worse (4.4%, 10.6%, 5.5% with seeds 0 to 2): the
    # triplet term carries what transfers, so weigh it twice.
    "triplet2": {"triplet_weight": 2.0},
    # Eight images of eight people per batch, not four of sixteen: the hardest positive is drawn
    # from more cameras and poses of each person, the invariance that transfers.
    "k8": {"images_per_identity": 8},
    # The rate held at its peak from the warm-up to the last step, not decayed to zero: the
    # transfer to CUHK03 still rises at step 400 (a checkpoint every 50 steps: 6.0% at step 50,
    # 12-14% from 300), and a decayed rate stops it where it is.
    "constant-lr": {"lr_schedule": "constant"},
    # The embedding asked to rank each crop's batch neighbours as colour histograms of stripes
    # do (training.colour_prior): those histograms score 16.9% on CUHK03 with nothing learned,
    # and the identity losses alone leave how unseen people relate to chance.
    "colour-prior1": {"colour_prior": 1.0},
    "colour-prior0.3": {"colour_prior": 0.3},
}
