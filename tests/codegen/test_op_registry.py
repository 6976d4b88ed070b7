"""The op registry is the one list of ops: the runtime's op list, the .tflite reader's op codes
and the kernel files (with the headers beside them) all agree with it."""

from __future__ import annotations

from pathlib import Path
import re

from ai_edge_litert import schema_py_generated as S

from edgekit.codegen import generate, kernels_dir, runtime_dir, runtime_sources
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


def _declared(header: Path) -> set[str]:
    return set(re.findall(r"^\w[\w\s\*]*?\b(ek_\w+)\(", header.read_text(), re.M))


def _defined(source: Path) -> set[str]:
    return set(re.findall(r"^(?:void|int|int32_t|int8_t)\s+\**(ek_\w+)\(", source.read_text(), re.M))


def test_every_kernel_file_has_its_header_beside_it():
    # A new op family is one folder: <family>.c and <family>.h, nothing in include/ to edit.
    for src in runtime_sources():
        header = src.with_suffix(".h")
        assert header.is_file(), f"{src.name} has no {header.name} beside it"
        assert f'#include "{header.name}"' in src.read_text(), src
        exported = _defined(src)
        assert exported and exported == _declared(header), (src.name, exported ^ _declared(header))
    # include/ holds only the model API and what several families share: no kernel there.
    for h in (runtime_dir() / "include").glob("*.h"):
        assert not re.search(r"^void ek_\w+_s8\(", h.read_text(), re.M), h
    for spec in REGISTRY.values():
        assert all((kernels_dir() / h).is_file() for h in spec.headers), spec.name


def test_model_includes_the_headers_of_its_ops(tmp_path):
    path = tiny_models.ensure_models([FIXED_CASES[7]])[0]   # conv, dwconv, fc, add, pool, softmax
    generate(path, tmp_path, "cnn")
    text = (tmp_path / "model.c").read_text()
    included = set(re.findall(r'^#include "(\w+\.h)"$', text, re.M)) - {"ek_model.h", "model_data.h"}
    ops = set(re.findall(r"^    /\* \d+: (\w+) ->", text, re.M))
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= ops
    assert included == {h for op in ops for h in REGISTRY[op].headers}
    assert "reshape.h" not in included and "quantize.h" not in included   # ops the model lacks


def test_kernel_parameters_use_designated_initializers(tmp_path):
    path = tiny_models.ensure_models([FIXED_CASES[7]])[0]   # conv, dwconv, fc, add, pool, softmax
    generate(path, tmp_path, "cnn")
    decls = [l for l in (tmp_path / "model.c").read_text().splitlines() if "_params_t ek_p" in l]
    assert len(decls) >= 6
    for d in decls:
        body = d.split("= {", 1)[1]
        assert all(item.strip().startswith(".") for item in body.rstrip("};").split(",")), d
    # No C-side scratch formula: the generator's scratch_bytes() is the only one.
    assert not any("_scratch(" in h.read_text() for h in kernels_dir().glob("*.h"))
