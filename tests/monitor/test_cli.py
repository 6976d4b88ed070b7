import json


def test_ingest_of_a_bad_record_is_one_line_and_exit_2(run_cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"schema": 1, "device_id": "d1"}) + "\n")
    proc = run_cli("monitor", "ingest", str(bad), "--model", "kws", "--store", str(tmp_path / "m.duckdb"))
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad.jsonl: line 1: model:" in lines[0] and "--skip-bad" in lines[0]
    proc = run_cli("monitor", "ingest", str(bad), "--model", "kws", "--store", str(tmp_path / "m.duckdb"),
                   "--skip-bad", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["files"][0]["rejected"] == 1 and out["total_rows"] == 0


def test_an_unknown_scenario_names_the_known_ones(run_cli):
    proc = run_cli("monitor", "simulate", "--model", "kws", "--scenario", "nope")
    assert proc.returncode == 2 and "firmware-rollout" in proc.stderr and "stationary" in proc.stderr
