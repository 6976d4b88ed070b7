"""Hardware-in-the-loop tests for a user's repository (run with the edgekit pytest plugin):

    pytest tests/hil --edgekit-target cortex-m4 --edgekit-model kws

The accuracy threshold is the model's own committed test accuracy (models/<m>/metrics.json,
measured on the host in float) minus a margin for quantization and the device, so it holds
for the shipped model and fails for a broken one. With --edgekit-limit the evaluation sees a
sample of the test split: the test compares the upper end of the accuracy's 95% interval, so a
small sample does not fail a good model by chance, while a model far below still fails.
"""

# Points of accuracy the device may lose against the committed float accuracy.
MARGIN = 0.03


def test_device_answers_with_this_model(edgekit_device, edgekit_model):
    info = edgekit_device.info()
    assert info.model == edgekit_model.name


def test_device_accuracy(edgekit_eval, edgekit_model):
    committed = edgekit_model.load_metrics()["accuracy"]
    row = next(r for r in edgekit_eval.section["accuracy"]
               if r["path"] == edgekit_eval.device_path and r["field"] == "all")
    assert row["ci_high"] >= committed - MARGIN, (
        f"device accuracy {row['accuracy']:.4f} (95% interval {row['ci_low']:.4f}-{row['ci_high']:.4f}, "
        f"n={row['n']}) is below the committed {committed:.4f} minus {MARGIN}")


def test_device_matches_the_int8_reference(edgekit_eval):
    be = edgekit_eval.section["bit_exact"]
    assert be["compared"] > 0 and be["equal"] == be["compared"]


def test_no_cohort_is_worse_off(edgekit_eval):
    assert edgekit_eval.flagged == []


def test_gates(edgekit_eval):
    edgekit_eval.assert_gates()
