"""Small synthetic datasets shared by the training tests."""

import pytest

from training.datasets.synthetic import SynthConfig, write_synthetic_market1501


@pytest.fixture(scope="session")
def small_market(tmp_path_factory):
    """A synthetic Market-1501 layout: 40 training identities, 6 cameras."""
    out = tmp_path_factory.mktemp("synth") / "market"
    config = SynthConfig(
        train_identities=40, test_identities=10, images_per_camera=3, distractors=5, junk=3, seed=3
    )
    write_synthetic_market1501(out, config, progress=False)
    return out
