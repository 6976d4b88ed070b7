import pytest

from edgekit.errors import UserError
from edgekit.models import load_model
from edgekit.monitor.scenario import list_scenarios, load_scenario


@pytest.mark.parametrize("model", ["kws", "mobilenetv2"])
def test_every_shipped_scenario_is_valid_for_its_model(model):
    spec = load_model(model)
    names = list_scenarios(spec)
    assert "stationary" in names
    for n in names:
        assert load_scenario(spec, n).model == model


def test_a_scenario_naming_an_unknown_variant_is_named(tmp_path):
    spec = load_model("kws")
    text = (spec.folder / "scenarios" / "firmware-rollout.yaml").read_text().replace("fixed-q15", "fixed-q13")
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(UserError, match=r"events\[0\].variant: 'fixed-q13'"):
        load_scenario(spec, str(p))
    p.write_text(text.replace("devices: 2000", "devcies: 2000"))
    with pytest.raises(UserError, match="devcies: unknown field"):
        load_scenario(spec, str(p))
