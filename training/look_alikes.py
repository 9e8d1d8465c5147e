"""P x K batches of look-alike people: each batch gathers groups that the classifier confuses.

In a random batch of 32 people out of hundreds, most pairs differ at a glance, so the batch-hard
triplet term rarely meets a hard negative. With `look_alikes` = n, every batch is built from
*seed* identities, each bringing the n identities whose classifier vectors lie nearest its own
(graph sampling, Liao & Shao, CVPR 2022, in groups rather than whole batches).

Policies
--------
- **Coverage.** Seeds are dealt like cards, as `IdentityBalancedSampler` deals identities: every
  identity is a seed equally often, so none is left out however few others resemble it.
- **No repeats in a batch.** A look-alike already in the batch is passed over for the next
  nearest (each table lists 2P of them, so groups always fill the batch).
- **Fresh neighbours.** The training loop publishes the classifier's class vectors every
  `REFRESH_EVERY` steps; batch `step` uses the vectors published at the start of its period.
- **Determinism.** The input pipeline waits for that publication, so a batch never depends on
  how far the pipeline ran ahead; a resumed run publishes the vectors its checkpoint kept.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from training.sampler import IdentityBalancedSampler

REFRESH_EVERY = 20  # steps between two look-alike tables
WAIT_SECONDS = 600.0  # how long the input pipeline waits for a table before giving up


def nearest_identities(class_vectors: np.ndarray, count: int) -> np.ndarray:
    """The `count` classes nearest each class by cosine, nearest first: (classes, count) int64.

    class_vectors: (dimensions, classes), one column per class, any length.
    """
    vectors = np.asarray(class_vectors, dtype=np.float64)
    classes = vectors.shape[1]
    count = min(int(count), classes - 1)
    if count < 1:
        return np.empty((classes, 0), dtype=np.int64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=0, keepdims=True), 1e-12)
    cosines = unit.T @ unit
    np.fill_diagonal(cosines, -np.inf)
    nearest = np.argpartition(-cosines, count - 1, axis=1)[:, :count]
    order = np.argsort(-np.take_along_axis(cosines, nearest, axis=1), axis=1, kind="stable")
    return np.take_along_axis(nearest, order, axis=1).astype(np.int64)


class LookAlikeSampler(IdentityBalancedSampler):
    """P x K batches of seed identities and their look-alikes (see the module docstring).

    args, kwargs: those of IdentityBalancedSampler (labels, P, K, seed).
    look_alikes: identities each seed brings (>= 1); groups hold look_alikes + 1 people.
    """

    def __init__(self, *args, look_alikes: int = 3, **kwargs):
        super().__init__(*args, **kwargs)
        if look_alikes < 1:
            raise ValueError("look_alikes must be >= 1")
        self.look_alikes = int(look_alikes)
        self.seeds_per_batch = math.ceil(self.P / (self.look_alikes + 1))
        self.seed_batches_per_epoch = max(self.num_identities // self.seeds_per_batch, 1)
        self._tables: dict[int, np.ndarray] = {}
        self._published = threading.Condition()
        self._closed = False

    def publish(self, step: int, class_vectors: np.ndarray, classes: np.ndarray) -> None:
        """Look-alikes for the period of `step` from the classifier's vectors.

        class_vectors: (dimensions, len(classes)), the column of class c for label classes[c].
        """
        columns = np.searchsorted(np.asarray(classes), self.identities)
        # Enough neighbours that a group still fills when nearer ones are already in the batch.
        table = nearest_identities(np.asarray(class_vectors)[:, columns], 2 * self.P)
        period = int(step) // REFRESH_EVERY
        with self._published:
            self._tables = {p: t for p, t in self._tables.items() if p >= period - 1}
            self._tables[period] = table
            self._published.notify_all()

    def close(self) -> None:
        """Release a pipeline still waiting for a table (the run is over)."""
        with self._published:
            self._closed = True
            self._published.notify_all()

    def _table_at(self, step: int) -> np.ndarray:
        period = int(step) // REFRESH_EVERY
        with self._published:
            ready = self._published.wait_for(
                lambda: period in self._tables or self._closed, timeout=WAIT_SECONDS
            )
            if self._closed or not ready:
                raise RuntimeError(f"no look-alike table for step {step}")
            return self._tables[period]

    def seed_slots_at(self, step: int) -> np.ndarray:
        """Positions (in `identities`) of the seeds of batch `step`."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        epoch, position = divmod(int(step), self.seed_batches_per_epoch)
        start = position * self.seeds_per_batch
        return self._epoch_order(epoch)[start : start + self.seeds_per_batch]

    def _identity_slots(self, step: int) -> np.ndarray:
        table = self._table_at(step)
        chosen: list[int] = []
        taken: set[int] = set()
        for seed in self.seed_slots_at(step):
            group = 0
            for slot in (int(seed), *(int(s) for s in table[seed])):
                if len(chosen) == self.P or group > self.look_alikes:
                    break
                if slot not in taken:
                    chosen.append(slot)
                    taken.add(slot)
                    group += 1
        return np.asarray(chosen, dtype=np.int64)
