"""The `monitor` section of report.json, its report.html part and its junit gates
(docs/ARCHITECTURE.md, monitor; edgekit.report renders it through a small hook)."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import datetime
from typing import Optional

from edgekit.monitor.analysis import MonitorCheck
from edgekit.report.html import _env
from edgekit.report.plots import _plt, _svg


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def section(res: MonitorCheck, rollouts: Optional[list[dict]] = None) -> dict:
    """The JSON section: every cohort's windows, alarms and verdicts; rollouts: the first
    appearance of each version (markers in the plots)."""
    d = asdict(res)
    d["alarms"] = [f"{c.field}={c.value}" for c in res.alarms]
    d["rollouts"] = rollouts or []
    return _clean(d)


def gate_rows(sec: dict) -> list[dict]:
    """One junit case per cohort: failed where the cohort alarms."""
    rows = []
    for c in sec.get("cohorts", []):
        verdict = (c.get("verdict") or {}).get("message", "")
        rows.append({"gate": "monitor_drift", "subject": f"{c['field']}={c['value']}", "passed": not c["alarm"],
                     "value": c["over_windows"], "limit": 0, "detail": verdict or
                     f"{c['over_windows']} of {len(c['windows'])} windows over threshold (alpha {sec['alpha']})"})
    return rows


def _plot(c: dict, rollouts: list[dict]) -> str:
    plt = _plt()
    ws = c["windows"]
    if not ws:
        return ""
    t = [datetime.fromisoformat(w["start"].replace("Z", "+00:00")) for w in ws]
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(7.5, 3.6), sharex=True, height_ratios=[2, 1])
    est = [100 * (w["est_accuracy"] or 0) for w in ws]
    ax.fill_between(t, [100 * (w["est_low"] or 0) for w in ws], [100 * (w["est_high"] or 0) for w in ws],
                    alpha=0.25, color="#4c72b0", label="95% interval")
    ax.plot(t, est, color="#4c72b0", label="estimated accuracy (label-free)")
    lab = [(ti, 100 * w["labelled_accuracy"]) for ti, w in zip(t, ws) if w.get("labelled_accuracy") is not None]
    if lab:
        ax.plot(*zip(*lab), ".", color="#55a868", ms=3, label="labelled samples")
    ax.axhline(100 * c["reference_accuracy"], color="grey", lw=0.8, ls="--", label="reference")
    ax.set_ylabel("accuracy %")
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    score = [-math.log10(max(1e-4, min(w["p_class"], w["p_conf"], w["p_input"]) * 3)) for w in ws]
    bx.plot(t, score, color="#c44e52")
    bx.axhline(-math.log10(0.01), color="grey", lw=0.8, ls=":")
    for ti, w in zip(t, ws):
        if w["over"]:
            bx.axvline(ti, color="#c44e52", alpha=0.15, lw=2)
    bx.set_ylabel("drift -log10 p")
    for r in rollouts:
        rt = datetime.fromisoformat(r["first_seen"].replace("Z", "+00:00"))
        for a in (ax, bx):
            a.axvline(rt, color="#8172b2", lw=1)
        ax.annotate(f"{r['field']} {r['value']}", (rt, ax.get_ylim()[1]), fontsize=7, color="#8172b2", va="top")
    fig.autofmt_xdate()
    return _svg(fig)


TEMPLATE = """<h2 id="monitor">Field monitoring: drift and label-free accuracy per cohort</h2>
<p class="note">From <code>edgekit monitor check</code> on {{ m.records }} telemetry records ({{ m.store }}), windows of
{{ m.window_days }} day(s) from {{ m.origin[:10] }}. {{ m.how }}. A window is over threshold at a stated false-alarm
rate of {{ (m.alpha * 100)|round(2) }}%; a cohort alarms after {{ m.persist }} consecutive windows over it.</p>
{% if m.alarms %}<div class="banner bad"><b>{{ m.alarms|length }} cohort(s) alarm</b>:
{% for c in m.cohorts if c.alarm %}{{ c.field }}={{ c.value }}: {{ c.verdict.message }}{% if c.verdict.confirm %} (confirm: <code>{{ c.verdict.confirm }}</code>){% endif %}{{ "; " if not loop.last }}{% endfor %}</div>
{% else %}<div class="banner ok"><b>No cohort alarms.</b></div>{% endif %}
<table><tr><th>cohort</th><th>windows over</th><th>detected</th><th>change point</th><th>reference</th><th>estimated (last window)</th><th>verdict</th></tr>
{% for c in m.cohorts %}{% set last = c.windows[-1] if c.windows else none %}<tr><td>{{ c.field }}={{ c.value }}</td><td class="num">{{ c.over_windows }} / {{ c.windows|length }}</td>
<td>{{ starts[c.field ~ "=" ~ c.value][c.detected_window] if c.detected_window is not none else "-" }}</td>
<td>{{ starts[c.field ~ "=" ~ c.value][c.change_window] if c.change_window is not none else "-" }}</td>
<td class="num">{{ "%.1f"|format(c.reference_accuracy * 100) }}%</td>
<td class="num">{% if last and last.est_accuracy is not none %}{{ "%.1f"|format(last.est_accuracy * 100) }}% [{{ "%.1f"|format(last.est_low * 100) }}, {{ "%.1f"|format(last.est_high * 100) }}]{% endif %}</td>
<td>{{ c.verdict.kind if c.verdict else "-" }}</td></tr>{% endfor %}</table>
{% for name, svg in plots %}<h3>{{ name }}</h3>{{ svg|safe }}{% endfor %}
"""


def html(sec: Optional[dict]) -> str:
    """The report.html part of a monitor section ("" when there is none)."""
    if not sec:
        return ""
    starts = {f"{c['field']}={c['value']}": {w["window"]: w["start"][:10] for w in c["windows"]}
              for c in sec["cohorts"]}
    shown = [c for c in sec["cohorts"] if c["alarm"]] or sec["cohorts"][:3]
    plots = [(f"{c['field']}={c['value']}", _plot(c, sec.get("rollouts", []))) for c in shown[:12]]
    return _env().from_string(TEMPLATE).render(m=sec, starts=starts, plots=plots)
