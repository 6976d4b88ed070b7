from __future__ import annotations

import pytest

from tests.convert import synthetic


@pytest.fixture(scope="session")
def syn_data():
    return synthetic.make_data()


@pytest.fixture(scope="session")
def syn_model_dir(tmp_path_factory, syn_data):
    return synthetic.model_folder(tmp_path_factory.mktemp("syn") / "syn", synthetic.trained_model(syn_data))


@pytest.fixture(scope="session")
def syn_converted(tmp_path_factory, syn_model_dir, syn_data):
    """One full conversion of the synthetic model for cortex-m4, shared by the read-only tests."""
    from edgekit.convert import convert
    from edgekit.models import load_model
    from edgekit.targets import load_target

    out = tmp_path_factory.mktemp("out")
    return convert(load_model(str(syn_model_dir)), load_target("cortex-m4"), calibration=syn_data.calibration(),
                   test_set=syn_data.test_set(), out_dir=out, verify_samples=None)
