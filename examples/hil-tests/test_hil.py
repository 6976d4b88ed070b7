"""Hardware-in-the-loop tests for a user's repository (run with the edgekit pytest plugin):

    pytest tests/hil --edgekit-target cortex-m4 --edgekit-model kws
"""


def test_device_answers_with_this_model(edgekit_device, edgekit_model):
    info = edgekit_device.info()
    assert info.model == edgekit_model.name


def test_device_accuracy(edgekit_eval):
    assert edgekit_eval.accuracy() >= 0.85


def test_device_matches_the_int8_reference(edgekit_eval):
    be = edgekit_eval.section["bit_exact"]
    assert be["compared"] > 0 and be["equal"] == be["compared"]


def test_no_cohort_is_worse_off(edgekit_eval):
    assert edgekit_eval.flagged == []


def test_gates(edgekit_eval):
    edgekit_eval.assert_gates()
