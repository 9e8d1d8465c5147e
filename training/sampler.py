"""Identity-balanced P x K batches: P identities per batch, K images of each.

Policies
--------
- **Coverage.** Identities are dealt like cards: each *identity epoch* is a fresh shuffle of
  all trainable identities cut into ``floor(N / P)`` batches, so within an epoch no identity
  repeats and over a run every identity is drawn equally often (up to the ``N mod P``
  identities left over in each epoch, which differ from epoch to epoch). Independent draws
  would leave some identities unseen for long stretches.
- **Small identities.** An identity with at least K images gives K distinct images; one with
  fewer gives K draws with replacement, so repeats occur (the random flip still varies them)
  instead of the crash the reference has there.
- **Too few identities.** Fewer than P trainable identities is an error: duplicating
  identities in a batch would merge their groups in the batch-hard and magnet losses and hide
  a dataset that is far too small. The message names the largest batch size that works.
- **Junk and distractors.** Identities -1 and 0 (any identity <= 0) are never sampled.
- **Determinism.** ``batch_at(step)`` depends only on (seed, step) and the identity labels,
  so a resumed run continues the same sequence: pass the global step it resumes at.

Indices are int64 positions in the ImageSet the labels came from; a batch lists the K images
of its first identity, then the K of the second, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.errors import DatasetError

_MASK64 = (1 << 64) - 1
_EPOCH_STREAM = 0
_IMAGE_STREAM = 1


class IdentityBalancedSampler:
    """Deterministic, resumable stream of P x K batches of image indices."""

    def __init__(
        self,
        identities: np.ndarray,
        identities_per_batch: int = 32,
        images_per_identity: int = 4,
        seed: int = 0,
    ):
        if identities_per_batch < 1 or images_per_identity < 1:
            raise ValueError("identities_per_batch and images_per_identity must be >= 1")
        labels = np.asarray(identities, dtype=np.int64).reshape(-1)
        trainable = np.flatnonzero(labels > 0)
        order = trainable[np.argsort(labels[trainable], kind="stable")]
        ids, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        self.P = int(identities_per_batch)
        self.K = int(images_per_identity)
        self.seed = int(seed) & _MASK64
        self.identities = ids
        self._order = order
        self._starts = starts
        self._counts = counts
        self._check_enough(len(ids))
        self.batches_per_epoch = len(ids) // self.P
        self._epoch_cache: tuple[int, np.ndarray] | None = None

    def _check_enough(self, num_identities: int) -> None:
        if num_identities >= self.P:
            return
        if num_identities == 0:
            raise DatasetError(
                "The training set has no usable identities (only junk -1 or distractor 0).",
                "Check the dataset's file or folder names.",
            )
        raise DatasetError(
            f"A batch needs {self.P} different identities ({self.P} x {self.K} images), but the "
            f"training set has only {num_identities}.",
            f"Use a smaller --batch-size (batch = identities x {self.K}), at most "
            f"{num_identities * self.K}, or add identities.",
        )

    @property
    def batch_size(self) -> int:
        return self.P * self.K

    @property
    def num_identities(self) -> int:
        return len(self.identities)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """Shuffled positions of the identities for one identity epoch (cached)."""
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            rng = np.random.default_rng([self.seed, _EPOCH_STREAM, epoch])
            self._epoch_cache = (epoch, rng.permutation(len(self.identities)))
        return self._epoch_cache[1]

    def identities_at(self, step: int) -> np.ndarray:
        """The P identities (labels) of batch `step`."""
        return self.identities[self._identity_slots(step)]

    def _identity_slots(self, step: int) -> np.ndarray:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        epoch, position = divmod(int(step), self.batches_per_epoch)
        return self._epoch_order(epoch)[position * self.P : (position + 1) * self.P]

    def batch_at(self, step: int) -> np.ndarray:
        """Image indices of batch `step`: shape (P * K,), int64, K per identity in a row."""
        rng = np.random.default_rng([self.seed, _IMAGE_STREAM, int(step)])
        batch = np.empty(self.P * self.K, dtype=np.int64)
        for i, slot in enumerate(self._identity_slots(step)):
            count = int(self._counts[slot])
            picks = rng.choice(count, self.K, replace=count < self.K)
            batch[i * self.K : (i + 1) * self.K] = self._order[self._starts[slot] + picks]
        return batch

    def iterate(self, start_step: int = 0) -> Iterator[np.ndarray]:
        """Endless batches from `start_step` on (resume a run at its global step)."""
        step = int(start_step)
        while True:
            yield self.batch_at(step)
            step += 1

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.iterate(0)

    def close(self) -> None:
        """Nothing to release: batches depend on the seed and step alone."""
