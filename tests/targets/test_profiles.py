"""Target profiles: the shipped ones validate, and every kind of bad profile is rejected
with one line naming the file, the field and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from edgekit import resources
from edgekit.errors import UserError
from edgekit.targets import list_targets, load_target

SHIPPED = list_targets()


def test_shipped_profiles_cover_the_issue():
    for name in ["cortex-m4", "cortex-m4-small", "cortex-m7", "cortex-m33", "cortex-m55",
                 "cortex-m55-ethos-u55", "cortex-m55-ethos-u65", "snapdragon-htp"]:
        assert name in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_is_valid_and_complete(name):
    t = load_target(name)
    assert t.budgets.flash_kb <= t.memory.flash_kb
    assert t.energy.source
    assert t.active_power_mw() > 0
    if t.runtime.name == "edgekit-micro":
        assert t.emulator.kind == "qemu" and t.emulator.machine.startswith("mps")


def test_qemu_machines_match_the_cores():
    assert load_target("cortex-m4").emulator.machine == "mps2-an386"
    assert load_target("cortex-m7").emulator.machine == "mps2-an500"
    assert load_target("cortex-m33").emulator.machine == "mps2-an505"
    m55 = load_target("cortex-m55")
    assert m55.emulator.machine == "mps3-an547" and "mve" in m55.core.features


def test_inheritance_overrides_and_keeps_parent_fields():
    small = load_target("cortex-m4-small")
    base = load_target("cortex-m4")
    assert small.extends == "cortex-m4"
    assert small.memory.ram_kb == 128 < base.memory.ram_kb
    assert small.core.features == base.core.features  # inherited
    assert small.emulator == base.emulator


def test_energy_model_derives_active_power():
    t = load_target("cortex-m4")  # 52 uA/MHz * 64 MHz * 3.0 V = 9.98 mW
    assert t.active_power_mw() == pytest.approx(52 * 64 * 3.0 / 1000)


@pytest.fixture
def tdir(tmp_path):
    d = tmp_path / "targets"
    d.mkdir()
    shutil.copy(resources.targets_dir() / "cortex-m4.yaml", d / "base.yaml")
    return d


def write(d: Path, name: str, data) -> Path:
    p = d / f"{name}.yaml"
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def base(d: Path) -> dict:
    return yaml.safe_load((d / "base.yaml").read_text())


def error_of(d: Path, name: str) -> str:
    with pytest.raises(UserError) as exc:
        load_target(name, d)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_unknown_key(tdir):
    b = base(tdir)
    b["memory"]["flsh_kb"] = 10
    write(tdir, "bad", b)
    msg = error_of(tdir, "bad")
    assert "bad.yaml" in msg and "memory.flsh_kb" in msg and "unknown field" in msg


def test_wrong_type(tdir):
    b = base(tdir)
    b["core"]["clock_mhz"] = "fast"
    write(tdir, "bad", b)
    msg = error_of(tdir, "bad")
    assert "core.clock_mhz" in msg and "'fast'" in msg


def test_missing_field(tdir):
    b = base(tdir)
    del b["budgets"]["latency_p99_ms"]
    write(tdir, "bad", b)
    msg = error_of(tdir, "bad")
    assert "budgets.latency_p99_ms" in msg and "missing" in msg


def test_budget_larger_than_memory(tdir):
    b = base(tdir)
    b["budgets"]["ram_kb"] = 4096
    write(tdir, "bad", b)
    msg = error_of(tdir, "bad")
    assert "budgets.ram_kb" in msg and "larger than" in msg


def test_inheritance_cycle(tdir):
    write(tdir, "a", {"extends": "b"})
    write(tdir, "b", {"extends": "a"})
    msg = error_of(tdir, "a")
    assert "cycle" in msg and "a -> b -> a" in msg


def test_unknown_parent(tdir):
    write(tdir, "child", {"extends": "nosuch"})
    msg = error_of(tdir, "child")
    assert "child.yaml" in msg and "extends" in msg and "nosuch" in msg


def test_child_override_is_validated(tdir):
    write(tdir, "child", {"extends": "base", "budgets": {"flash_kb": -1}})
    msg = error_of(tdir, "child")
    assert "child.yaml" in msg and "budgets.flash_kb" in msg


def test_not_yaml(tdir):
    write(tdir, "broken", "core: [unclosed\n")
    msg = error_of(tdir, "broken")
    assert "broken.yaml" in msg and "not valid YAML" in msg


def test_dsp_kernels_need_dsp_feature(tdir):
    b = base(tdir)
    b["core"]["features"] = ["fpu"]
    write(tdir, "bad", b)
    assert "runtime.kernels" in error_of(tdir, "bad")


def test_malformed_profile_on_the_command_line(run_cli, tdir):
    b = base(tdir)
    b["budgets"]["flash_kb"] = "lots"
    p = write(tdir, "bad", b)
    proc = run_cli("targets", "show", str(p))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(p) in lines[0] and "budgets.flash_kb" in lines[0]
    assert "Traceback" not in proc.stderr


# --- board files anywhere: a user's profile outside targets/ ----------------------------------

def test_board_file_anywhere_extends_a_shipped_profile(tmp_path):
    p = write(tmp_path, "my-board", {"extends": "cortex-m4", "description": "my own nRF52840 board",
                                     "budgets": {"latency_p99_ms": 123}})
    t = load_target(str(p))
    shipped = load_target("cortex-m4")
    assert t.name == "my-board" and t.extends == "cortex-m4"
    assert t.budgets.latency_p99_ms == 123
    assert t.budgets.flash_kb == shipped.budgets.flash_kb and t.core == shipped.core


def test_board_file_finds_its_own_folder_first(tmp_path):
    # A user's family of boards: the sibling file wins over nothing shipped, and a sibling
    # named like a shipped profile shadows it for the files of that folder.
    b = yaml.safe_load((resources.targets_dir() / "cortex-m4.yaml").read_text())
    b["budgets"]["latency_p99_ms"] = 77
    write(tmp_path, "cortex-m4", b)
    child = write(tmp_path, "child", {"extends": "cortex-m4"})
    assert load_target(str(child)).budgets.latency_p99_ms == 77
    # A file that extends its own name gets the shipped parent, not itself (no false cycle).
    own = tmp_path / "own"
    own.mkdir()
    same = write(own, "cortex-m4", {"extends": "cortex-m4", "budgets": {"latency_p99_ms": 55}})
    t = load_target(str(same))
    assert t.budgets.latency_p99_ms == 55 and t.budgets.flash_kb == load_target("cortex-m4").budgets.flash_kb


def test_board_file_unknown_parent_names_where_it_looked(tmp_path):
    p = write(tmp_path, "my-board", {"extends": "cortex-m9"})
    with pytest.raises(UserError) as exc:
        load_target(str(p))
    msg = str(exc.value)
    assert "\n" not in msg and str(p) in msg and "extends" in msg and "cortex-m9" in msg
    assert "cortex-m4" in msg  # the known targets, so the fix is obvious


def test_targets_show_board_file(run_cli, tmp_path):
    p = write(tmp_path, "my-board", {"extends": "cortex-m4", "budgets": {"latency_p99_ms": 123}})
    proc = run_cli("targets", "show", str(p), "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    shown = json.loads(proc.stdout)
    assert shown["name"] == "my-board" and shown["extends"] == "cortex-m4"
    assert shown["budgets"]["latency_p99_ms"] == 123
    assert shown["memory"] == json.loads(run_cli("targets", "show", "cortex-m4", "--json").stdout)["memory"]
    proc = run_cli("targets", "show", str(p))
    assert proc.returncode == 0 and "extends: cortex-m4" in proc.stdout and "latency_p99_ms: 123" in proc.stdout


def test_board_file_broken_field_is_exit_2_naming_file_and_field(run_cli, tmp_path):
    p = write(tmp_path, "my-board", {"extends": "cortex-m4", "budgets": {"ram_kb": "lots"}})
    proc = run_cli("targets", "show", str(p))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(p) in lines[0] and "budgets.ram_kb" in lines[0], proc.stderr


# --- runtime.activations is what the runtime's op list takes ----------------------------------

@pytest.mark.parametrize("name", SHIPPED)
def test_profile_activations_are_what_its_runtime_takes(name):
    from edgekit.convert.opcheck import load_runtime
    from edgekit.runtimes import backend_for

    t = load_target(name)
    takes = load_runtime(t.runtime.name).activation_types
    assert set(t.runtime.activations) <= set(takes), (name, t.runtime.activations, takes)
    backend_for(t)   # the backend's profile check agrees
    if t.runtime.name == "edgekit-micro":
        # the op list is the code generator's registry, which has int8 kernels only
        assert takes == ("int8",) and t.runtime.activations == ["int8"]


def test_profile_claiming_int16_on_edgekit_micro_is_exit_2(run_cli, tmp_path):
    p = write(tmp_path, "my-board", {"extends": "cortex-m4", "runtime": {"activations": ["int8", "int16"]}})
    proc = run_cli("targets", "show", str(p))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "runtime.activations" in lines[0] and "int16" in lines[0], proc.stderr
    assert "edgekit-micro.yaml" in lines[0] and "Traceback" not in proc.stderr
    # the same board on Vela's op list (16x8) is fine
    ok = write(tmp_path, "npu-board", {"extends": "cortex-m55-ethos-u55", "runtime": {"activations": ["int8", "int16"]}})
    assert run_cli("targets", "show", str(ok)).returncode == 0
