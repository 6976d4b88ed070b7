"""The runtime-backend registry: every profile's runtime has a backend, the backend checks the
profile, and a third-party backend is one module plus one entry point."""

from __future__ import annotations

import pytest

from edgekit import runtimes
from edgekit.errors import UserError
from edgekit.targets import list_targets, load_target
from tests.plugin_dist import install_plugin, uninstall_plugin

PLUGIN = '''
from edgekit.runtimes import register
from edgekit.runtimes.base import BuildResult, RuntimeBackend


@register
class Toy(RuntimeBackend):
    name = "toy-npu"
    builds = "nothing: a test backend"
    npu_kinds = ("ethos-u55",)

    def build(self, spec, target, out, *, progress=None, check_budgets=True, **options):
        return BuildResult(target.name, spec.name, self.name, out, out / "report.json", notes=["toy"])
'''


def test_every_shipped_profile_has_its_backend():
    names = runtimes.backend_names()
    assert {"edgekit-micro", "vela", "onnxruntime-qnn"} <= set(names)
    for t in list_targets():
        prof = load_target(t)
        assert runtimes.backend_for(prof).name == prof.runtime.name


def test_capabilities_are_what_the_stages_read():
    micro, vela, qnn = (runtimes.get_backend(n) for n in ("edgekit-micro", "vela", "onnxruntime-qnn"))
    assert micro.on_device_frontend and micro.evaluates and micro.needs_core
    assert not vela.evaluates and "int8 host reference" in vela.evaluation_note
    assert qnn.evaluates and not qnn.on_device_frontend and not qnn.needs_core and qnn.npu_kinds == ("hexagon-htp",)
    with pytest.raises(UserError, match="int8 host reference"):
        vela.check_can_evaluate(type("S", (), {"name": "kws"})(), load_target("cortex-m55-ethos-u55"))


def test_unknown_runtime_and_missing_npu_are_one_line_errors():
    m4 = load_target("cortex-m4")
    with pytest.raises(UserError, match="runtime.name: runtime 'tvm': no such runtime backend; known: edgekit-micro"):
        runtimes.backend_for(m4.model_copy(update={"runtime": m4.runtime.model_copy(update={"name": "tvm"})}))
    with pytest.raises(UserError, match="npu: runtime 'vela' needs an npu of kind ethos-u55 or ethos-u65"):
        runtimes.backend_for(m4.model_copy(update={"runtime": m4.runtime.model_copy(update={"name": "vela"})}))


def test_a_third_party_backend_is_one_module_and_one_entry_point(tmp_path, monkeypatch):
    install_plugin(tmp_path, "edgekit-toy", runtimes.ENTRY_POINT_GROUP, "toy", "edgekit_toy_backend", PLUGIN)
    monkeypatch.setattr(runtimes.REGISTRY, "loaded", False)
    try:
        assert "toy-npu" in runtimes.backend_names()
        u55 = load_target("cortex-m55-ethos-u55")
        toy = u55.model_copy(update={"runtime": u55.runtime.model_copy(update={"name": "toy-npu"})})
        from edgekit.build import build

        res = build(type("S", (), {"name": "m"})(), toy, out_dir=tmp_path / "out")
        assert res.runtime == "toy-npu" and res.notes == ["toy"]
    finally:
        runtimes.REGISTRY.members.pop("toy-npu", None)
        uninstall_plugin(tmp_path, "edgekit_toy_backend")
