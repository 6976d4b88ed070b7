"""junit.xml: every gate (accuracy, each cohort's drop, each budget, device errors,
preprocessing skew, NPU coverage and accuracy) is a test case, so CI systems show them as
tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def junit_xml(model: str, target: str, gates: list[dict]) -> str:
    suites: dict[str, list[dict]] = {}
    for g in gates:
        suites.setdefault(g["gate"], []).append(g)
    root = ET.Element("testsuites", name=f"edgekit {model} on {target}",
                      tests=str(len(gates)), failures=str(sum(1 for g in gates if not g["passed"])))
    for name, cases in suites.items():
        s = ET.SubElement(root, "testsuite", name=f"edgekit.{name}", tests=str(len(cases)),
                          failures=str(sum(1 for c in cases if not c["passed"])), errors="0", skipped="0")
        for c in cases:
            tc = ET.SubElement(s, "testcase", classname=f"edgekit.{target}.{model}.{name}",
                               name=c["subject"])
            text = f"value {c.get('value')} limit {c.get('limit')}: {c['detail']}"
            if not c["passed"]:
                ET.SubElement(tc, "failure", message=text, type=name).text = text
            else:
                ET.SubElement(tc, "system-out").text = text
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
