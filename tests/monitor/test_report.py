import json

from edgekit.monitor import report as monitor_report
from edgekit.report import write_reports
from edgekit.reportstore import write_section

from tests.monitor.test_analysis import fleet, reference, run


def test_the_monitor_section_renders_in_report_html_and_junit(tmp_path):
    ref = reference()
    res = run(fleet(tmp_path, ref, lambda d, day, fw: fw == "v2", days=14), ref)
    sec = monitor_report.section(res, [{"field": "firmware", "value": "v2", "first_seen": "2026-01-13T00:00:00Z"}])
    json.dumps(sec)  # JSON-clean (no NaN)
    out = tmp_path / "stage"
    out.mkdir()
    write_section(out, "monitor", sec)
    files = write_reports(out)
    page = files.html.read_text()
    assert "Field monitoring" in page and "skew in firmware v2" in page and "<svg" in page
    junit = files.junit.read_text()
    assert "edgekit.monitor_drift" in junit and 'name="device_model=dm-a"' in junit
    assert files.gates_failed == len(res.alarms) >= 2
