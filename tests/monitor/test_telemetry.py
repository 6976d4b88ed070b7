import pytest

from edgekit.monitor.telemetry import RecordError, to_flat_dict, validate

from tests.monitor.helpers import CLASSES, FEATURES, record


def check(raw):
    return validate(raw, model="toy", classes=CLASSES, features=FEATURES)


def test_a_good_record_round_trips_through_the_flat_form():
    r = check(record())
    assert r.inferences == 10 and r.cohort["firmware"] == "v1" and r.labelled == ((0, 0),)
    flat = to_flat_dict(r.to_json())
    assert flat["class_hist"] == "10 0 0 0" and flat["cohort.device_model"] == "dm-a"
    assert check(flat) == r


@pytest.mark.parametrize("over, message", [
    ({"device_id": "x'; DROP TABLE windows; --"}, "device_id"),
    ({"device_id": "a" * 65}, "device_id"),
    ({"inferences": True}, "inferences"),
    ({"inferences": "10"}, "inferences"),
    ({"inferences": 10 ** 9}, "out of range"),
    ({"class_hist": [10] + [0] * 10 ** 6}, "entries, want 4"),
    ({"class_hist": [9, 0, 0, 0]}, "sum to 9"),
    ({"conf_hist": [-1] * 16}, "out of range"),
    ({"feature_mean": [float("nan"), 0.0, 0.0]}, "finite"),
    ({"feature_var": [1.0, float("inf"), 0.0]}, "finite"),
    ({"feature_mean": ["1", 0, 0]}, "want a number"),
    ({"window_start": "yesterday"}, "ISO 8601"),
    ({"window_end": "2026-01-05T00:00:00"}, "time zone"),
    ({"window_end": "2026-03-05T00:00:00Z"}, "31 days"),
    ({"schema": 2}, "version 1"),
    ({"model": "kws"}, "store holds"),
    ({"cohort": {"firmware": "v1"}}, "device_model"),
    ({"cohort": {"device_model": "a", "firmware": "v1", "Bad Key": "x"}}, "lower_snake_case"),
    ({"cohort": {"device_model": "a", "firmware": "v1\x00"}}, "control"),
    ({"cohort": {"device_model": "a", "firmware": 2}}, "want text"),
    ({"cohort": {f"f{i}": "x" for i in range(13)}}, "at most 12"),
    ({"labelled": [{"label": 9, "pred": 0}]}, "out of range"),
    ({"labelled": [{"label": 0, "pred": 0}] * 33}, "at most 32"),
    ({"extra": 1}, "unknown field"),
])
def test_hostile_or_malformed_records_are_rejected_naming_the_field(over, message):
    with pytest.raises(RecordError, match=message):
        check(record(**over))


def test_an_injection_string_in_a_cohort_value_is_plain_data():
    v = "x'); DROP TABLE windows; --"
    r = check(record(cohort={"device_model": v, "firmware": "v1"}))
    assert r.cohort["device_model"] == v
