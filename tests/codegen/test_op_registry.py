"""The op registry is the one list of ops: the runtime's op list, the .tflite reader's op codes
and the kernel files all agree with it."""

from __future__ import annotations

from pathlib import Path

from ai_edge_litert import schema_py_generated as S

from edgekit.codegen import generate, runtime_dir, runtime_sources
from edgekit.codegen.ops import REGISTRY, runtime_op_list
from edgekit.codegen.tflite_reader import op_codes, op_name
from edgekit.convert.opcheck import load_runtime

from . import tiny_models
from .cases import FIXED_CASES


def test_runtime_op_list_is_what_codegen_accepts():
    rt = load_runtime("edgekit-micro")
    assert "ops: codegen-registry" in rt.path.read_text()   # read from the registry, not copied
    listed = rt.ops
    assert {k: dict(v) for k, v in listed.items()} == runtime_op_list()
    assert {"MUL", "SUB", "MAXIMUM", "MINIMUM", "SQUEEZE", "CONCATENATION"} <= set(listed)
    # int8 activations only: nothing claims 16x8 the kernels do not have
    assert not any("int16" in t for e in listed.values() for t in e["types"])


def test_builtin_codes_are_the_schema_ones():
    schema = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    for spec in REGISTRY.values():
        assert schema[spec.code] == spec.name, spec
    assert op_codes() == {s.code: s.name for s in REGISTRY.values()}
    assert op_name(REGISTRY["CONV_2D"].code) == "CONV_2D"


def test_kernel_files_belong_to_ops():
    kernels = {p.name for p in runtime_sources()}
    claimed = {f for s in REGISTRY.values() for f in s.kernels}
    assert claimed <= kernels, claimed - kernels
    assert kernels - claimed == {"fixedpoint.c"}   # the shared primitives only


def test_kernel_parameters_use_designated_initializers(tmp_path):
    path = tiny_models.ensure_models([FIXED_CASES[7]])[0]   # conv, dwconv, fc, add, pool, softmax
    generate(path, tmp_path, "cnn")
    decls = [l for l in (tmp_path / "model.c").read_text().splitlines() if "_params_t ek_p" in l]
    assert len(decls) >= 6
    for d in decls:
        body = d.split("= {", 1)[1]
        assert all(item.strip().startswith(".") for item in body.rstrip("};").split(",")), d
    assert Path(runtime_dir() / "include" / "ek_kernels.h").read_text().count("_scratch(") == 0
