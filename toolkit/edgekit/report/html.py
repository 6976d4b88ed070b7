"""report.html: one self-contained page (inline CSS and SVG plots) rendered from report.json."""

from __future__ import annotations

import base64
import html as _html
from pathlib import Path
from typing import Optional

import jinja2

from edgekit.report import entry_point, plots

TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>edgekit: {{ model }} on {{ target }}</title>
<style>
 body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px 28px; color: #222; line-height: 1.4; }
 h1 { font-size: 24px; margin-bottom: 2px; } h2 { font-size: 19px; border-bottom: 2px solid #ddd; padding-bottom: 3px; margin-top: 30px; }
 h3 { font-size: 15px; margin: 16px 0 4px; }
 .sub { color: #555; margin-top: 0; }
 table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
 th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
 th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
 .pass { color: #1b7a33; font-weight: bold; } .fail { color: #b00020; font-weight: bold; } .na { color: #777; }
 .banner { padding: 10px 14px; border-radius: 6px; font-size: 16px; margin: 12px 0; }
 .banner.ok { background: #e6f4ea; border: 1px solid #1b7a33; } .banner.bad { background: #fde8ea; border: 1px solid #b00020; }
 .cards { display: flex; flex-wrap: wrap; gap: 10px; } .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 170px; }
 .card .v { font-size: 22px; font-weight: bold; } .card .l { color: #555; font-size: 12px; }
 .note { color: #555; font-size: 12px; } svg { max-width: 100%; height: auto; }
 img.example { max-width: 100%; border: 1px solid #ddd; }
</style></head><body>
<h1>{{ model }} on {{ target }}</h1>
<p class="sub">Sections: {{ sections|join(", ") }}</p>
{% if ev %}
<p class="sub">{{ ev.samples.total }} test samples &middot; device: {{ ev.device.get("spec", "?") }}
 {% if ev.device.get("firmware") %}&middot; firmware {{ ev.device.firmware }}{% endif %}
 {% if ev.device.get("model_hash") %}&middot; model {{ ev.device.model_hash[:12] }}{% endif %}
 &middot; report schema {{ ev.schema }} v{{ ev.version }}</p>
{% set failed = ev.gates | rejectattr("passed") | list %}
<div class="banner {{ 'bad' if failed else 'ok' }}">{% if failed %}<b>{{ failed|length }} of {{ ev.gates|length }} gates failed</b>: {{ failed|map(attribute="subject")|join(", ") }}{% else %}<b>All {{ ev.gates|length }} gates passed.</b>{% endif %}</div>

<div class="cards">
{% for p, st in ev.paths.items() %}<div class="card"><div class="l">{{ st.description }}</div>
 {% if st.get("accuracy") is not none %}<div class="v">{{ "%.1f"|format(st.accuracy*100) }}%</div><div class="l">95% CI {{ "%.1f"|format(st.ci_low*100) }}&ndash;{{ "%.1f"|format(st.ci_high*100) }}, n={{ st.n }}{% if st.errors %}, errors: {{ st.errors }}{% endif %}</div>
 {% else %}<div class="v na">{{ st.status }}</div><div class="l">{{ st.get("reason") or "" }}</div>{% endif %}</div>
{% endfor %}
{% if lat %}<div class="card"><div class="l">p99 latency per request ({{ lat.time_how.split(":")[0] }})</div><div class="v">{{ "%.2f"|format(lat.p99_ms) }} ms</div><div class="l">{{ "{:,.0f}".format(lat.p99) }} {{ lat.unit }}</div></div>{% endif %}
</div>

<h2>Gates</h2>
<table><tr><th>gate</th><th>subject</th><th>value</th><th>limit</th><th>result</th><th>detail</th></tr>
{% set passed_cohorts = ev.gates | selectattr("passed") | selectattr("gate", "equalto", "max_cohort_drop") | list %}
{% for g in (failed + (ev.gates | selectattr("passed") | rejectattr("gate", "equalto", "max_cohort_drop") | list)) %}<tr><td>{{ g.gate }}</td><td>{{ g.subject }}</td><td class="num">{{ g.value }}</td><td class="num">{{ g.limit }}</td>
<td class="{{ 'pass' if g.passed else 'fail' }}">{{ "pass" if g.passed else "FAIL" }}</td><td>{{ g.detail }}</td></tr>{% endfor %}
</table>
{% if passed_cohorts %}<details><summary>{{ passed_cohorts|length }} cohort gates passed (drop against float not significant or within {{ "%.1f"|format(ev.max_cohort_drop*100) }} points)</summary>
<table><tr><th>cohort</th><th>drop (fraction)</th><th>detail</th></tr>
{% for g in passed_cohorts %}<tr><td>{{ g.subject }}</td><td class="num">{{ g.value }}</td><td>{{ g.detail }}</td></tr>{% endfor %}</table></details>{% endif %}

<h2>Who is worse off? Accuracy per cohort</h2>
<p class="note">Points are accuracy; bars are 95% Wilson intervals. A cohort is flagged when its drop against the float reference is significant (McNemar, p&lt;0.05) and larger than {{ "%.1f"|format(ev.max_cohort_drop*100) }} points.</p>
{% if ev.flagged %}<h3 class="fail">Flagged cohorts</h3>
<table><tr><th>cohort</th><th>float</th><th>{{ ev.device_path }}</th><th>drop (points)</th><th>p</th><th>explained by</th></tr>
{% for f in ev.flagged %}<tr><td>{{ "overall" if f.field == "all" else f.field ~ "=" ~ f.value }}</td><td class="num">{{ "%.1f"|format(f.accuracy_reference*100) }}%</td><td class="num">{{ "%.1f"|format(f.accuracy_path*100) }}%</td><td class="num">{{ "%.1f"|format(-f.difference*100) }}</td><td class="num">{{ "%.2g"|format(f.p_value) }}</td><td><b>{{ f.stage }}</b>{% if f.get("carried_by") %} on firmware {{ f.carried_by|join(", ") }}{% elif f.get("firmware") %} (firmware {{ f.firmware|join(", ") }}){% endif %}</td></tr>{% endfor %}</table>
{% else %}<p class="pass">No cohort flagged.</p>{% endif %}
{% for field, svg in cohort_plots %}<h3>{{ field }}</h3>{{ svg|safe }}{% endfor %}

<h3>Where accuracy changes, stage by stage (points, with 95% interval)</h3>
<table><tr><th>cohort</th><th>n</th><th>quantization<br><span class="note">float &rarr; int8 host</span></th><th>kernel numerics<br><span class="note">int8 host &rarr; device</span></th><th>preprocessing<br><span class="note">device features &rarr; end to end</span></th></tr>
{% for a in ev.attribution %}<tr><td>{{ "overall" if a.field == "all" else a.field ~ "=" ~ a.value }}</td><td class="num">{{ (a.quantization or a.kernels or {}).get("n", "") }}</td>
{% for s in ("quantization", "kernels", "preprocessing") %}{% set d = a[s] %}<td class="num">{% if d %}<span class="{{ 'fail' if d.significant and d.difference < 0 else '' }}">{{ "%+.1f"|format(d.difference*100) }}</span> [{{ "%+.1f"|format(d.ci_low*100) }}, {{ "%+.1f"|format(d.ci_high*100) }}]{% else %}<span class="na">n/a</span>{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>

<h2>Does the device compute what the host computes?</h2>
{% set agr = (ev.get("agreement") or {}).get("disagreements_by_float_margin") %}{% if ev.get("tolerance") %}<p>The device is not bit-exact with the host by design: it is held to {{ ev.tolerance.reference }} within {{ ev.tolerance.points }} accuracy point(s), overall and per cohort (the tolerance gates above).{% if agr %} Top-1 disagreements with {{ ev.tolerance.reference }}: {{ agr.disagreements }}; the largest at a float top-1 minus top-2 margin of {{ agr.largest_float_margin_of_a_disagreement }}. Among near ties (margin under {{ agr.near_tie_margin }}, {{ agr.samples_near_tie }} samples) the disagreement rate is {{ agr.disagreement_rate_near_tie }}; among the rest {{ agr.disagreement_rate_confident }}.{% endif %}</p>{% endif %}
{% set be = ev.bit_exact %}<p>{% if be.compared %}{{ be.equal }} of {{ be.compared }} samples ({{ "%.2f"|format(be.share*100) }}%) have a device output byte-for-byte equal to the int8 host reference.{% else %}<span class="na">No samples with both int8 paths.</span>{% endif %} <span class="note">{{ be.how }}</span></p>

<h2>Is it fast enough? Latency</h2>
{% if lat %}<table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>how</th></tr>
{% for name, l in ev.latency.items() if l %}<tr><td>{{ name }} ({{ l.unit }})</td>{% for q in ("p50","p90","p99","max") %}<td class="num">{{ "{:,.0f}".format(l[q]) }}</td>{% endfor %}<td>{{ l.how }}</td></tr>
<tr><td>{{ name }} (ms)</td>{% for q in ("p50","p90","p99","max") %}<td class="num">{{ "%.3f"|format(l[q ~ "_ms"]) }}</td>{% endfor %}<td>{{ l.time_how }}</td></tr>{% endfor %}</table>
{{ latency_svg|safe }}{% else %}<p class="na">No device latency (no device results).</p>{% endif %}

<h2>Where does the time go?</h2>
{% set fe, mo = ev.latency.get("frontend"), ev.latency.get("model") %}{% if fe and mo and fe.p50 %}<p>Per request (p50): frontend {{ "{:,.0f}".format(fe.p50) }} and model {{ "{:,.0f}".format(mo.p50) }} {{ mo.unit }}: the frontend is {{ "%.0f"|format(100 * fe.p50 / (fe.p50 + mo.p50)) }}% of the request.</p>{% endif %}
{% if per_op %}<table><tr><th>op type</th><th>ops</th><th>{{ per_op_unit }}</th><th>share</th><th>per MAC</th></tr>
{% for t, v in per_op.by_type.items() %}<tr><td>{{ t }}</td><td class="num">{{ v.ops }}</td><td class="num">{{ "{:,}".format(v.count) }}</td><td class="num">{{ "%.1f"|format(100 * v.share) }}%</td><td class="num">{{ v.per_mac if v.per_mac is not none else "" }}</td></tr>{% endfor %}</table>
<details><summary>The ten costliest ops</summary><table><tr><th>#</th><th>op</th><th>output</th><th>MACs</th><th>bytes moved</th><th>{{ per_op_unit }}</th><th>share</th><th>per MAC</th></tr>
{% for o in per_op.ops|sort(attribute="count", reverse=true) %}{% if loop.index <= 10 %}<tr><td>{{ o.index }}</td><td>{{ o.op }}</td><td>{{ o.output_shape|join("x") }}</td><td class="num">{{ "{:,}".format(o.macs) }}</td><td class="num">{{ "{:,}".format(o.bytes_moved) }}</td><td class="num">{{ "{:,}".format(o.count) }}</td><td class="num">{{ "%.1f"|format(100 * o.share) }}%</td><td class="num">{{ o.per_mac if o.per_mac is not none else "" }}</td></tr>{% endif %}{% endfor %}</table></details>
<p class="note">Per op: {{ per_op.how }}, from <code>edgekit build</code>.</p>{% else %}<p class="na">No per-op profile (run <code>edgekit build</code> for this target).</p>{% endif %}

<h2>Does it fit, and what does it cost? Memory and energy against budgets</h2>
{% if ev.budgets %}{{ budget_svg|safe }}
<table><tr><th>figure</th><th>value</th><th>budget</th><th>margin</th><th>unit</th><th>how obtained</th><th>result</th></tr>
{% for b in ev.budgets %}<tr><td>{{ b.name }}</td><td class="num">{{ "%.4g"|format(b.value) }}</td><td class="num">{{ "%.4g"|format(b.budget) }}</td><td class="num">{{ "%.4g"|format(b.margin) }}</td><td>{{ b.unit }}</td><td>{{ b.how }}</td><td class="{{ 'pass' if b.passed else 'fail' }}">{{ "pass" if b.passed else "FAIL" }}</td></tr>{% endfor %}</table>
{% else %}<p class="na">No budget figures.</p>{% endif %}

<h2>Confusion matrix</h2>
{{ confusion_svg|safe if confusion_svg else '<p class="na">none</p>' }}

<h2>What did quantization cost? Per-layer error from the converter</h2>
{{ layer_svg|safe if layer_svg else '<p class="na">The convert section of report.json has no per-layer error table.</p>' }}

{% if run %}<h2>Run</h2><p class="note">{{ run_text }}</p>{% endif %}
{% endif %}
{{ skew_html|safe }}{{ entry_point_html|safe }}{{ npu_html|safe }}{{ monitor_html|safe }}
<p class="note">Generated by edgekit from report.json. "measured" = measured on the device or from the link; "counted" = counted by the emulator (QEMU counts instructions, not cycles); "estimated" = derived with the target profile's model (CPI, power).</p>
</body></html>
"""


SKEW_TEMPLATE = r"""
<h2 id="skew">Training&ndash;serving skew: which stage costs accuracy, per cohort</h2>
<p class="note">From <code>edgekit skew</code> on {{ sk.samples.total }} test samples ({{ sk.device }}). {{ sk.decomposition_how }}</p>
{% if sk.preprocessing_skew %}<div class="banner bad"><b>Preprocessing skew in {{ sk.preprocessing_skew|length }} cohort(s)</b>:
{% for f in sk.preprocessing_skew %}{{ f.field }}={{ f.value }} ({{ "%+.1f"|format(f.difference*100) }} points, firmware {{ f.firmware|join(", ") }}{% if f.carried_by and f.carried_by != f.firmware %}, carried by {{ f.carried_by|join(", ") }}{% endif %}){{ "; " if not loop.last }}{% endfor %}</div>
{% else %}<div class="banner ok"><b>No cohort shows preprocessing skew.</b></div>{% endif %}
<h3>Firmware per device cohort</h3>
<table><tr><th>cohort</th><th>firmware variant</th></tr>{% for k, v in sk.firmware.items() %}<tr><td>{{ "all others" if k == "*" else k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
<table><tr><th>variant</th><th>samples</th><th>flash</th><th>RAM</th><th>how</th><th>on-device preprocessing</th></tr>
{% for v, b in sk.builds.items() %}<tr><td>{{ v }}</td><td class="num">{{ b.samples }}</td><td class="num">{{ "%.1f"|format(b.flash_bytes/1024) }} KB</td><td class="num">{{ "%.1f"|format(b.ram_bytes/1024) }} KB</td><td>{{ b.how }}</td><td>{{ b.description }}</td></tr>{% endfor %}</table>
<h3>Accuracy change per stage (points, with 95% interval; bold red = significant drop)</h3>
<table><tr><th>cohort</th><th>firmware</th><th>n</th><th>float</th><th>quantization</th><th>kernel numerics</th><th>preprocessing</th><th>frontend parity<br><span class="note">elements within one int8 step</span></th></tr>
{% for d in sk.decomposition %}<tr><td>{{ "overall" if d.field == "all" else d.field ~ "=" ~ d.value }}</td><td>{{ d.firmware|join(", ") }}</td><td class="num">{{ d.paths.float.n if d.paths.float else "" }}</td><td class="num">{{ "%.1f"|format(d.paths.float.accuracy*100) if d.paths.float else "" }}%</td>
{% for s in ("quantization", "kernels", "preprocessing") %}{% set x = d[s] %}<td class="num">{% if x %}<span class="{{ 'fail' if x.significant and x.difference < 0 else '' }}">{{ "%+.1f"|format(x.difference*100) }}</span> [{{ "%+.1f"|format(x.ci_low*100) }}, {{ "%+.1f"|format(x.ci_high*100) }}]{% else %}<span class="na">n/a</span>{% endif %}</td>{% endfor %}
<td class="num">{% if d.parity %}{{ "%.2f"|format(d.parity.share_within_one_step*100) }}% (max {{ d.parity.max_abs_diff }}){% else %}<span class="na">n/a</span>{% endif %}</td></tr>{% endfor %}</table>
<p class="note">{{ sk.parity_how }}</p>
{% set pre = sk.examples.get("preprocessing", {}) %}{% if pre.get("examples") %}<h3>Samples where the firmware's preprocessing changed the answer</h3>
<table><tr><th>sample</th><th>label</th><th>device, host features</th><th>device end to end</th><th>firmware</th></tr>
{% for e in pre.examples %}<tr><td>{{ e.id }}</td><td>{{ e.label }}</td><td>{{ e.device_features }}</td><td>{{ e.device_e2e }}</td><td>{{ e.cohort.get("firmware", "") }}</td></tr>{% endfor %}</table>
{% for id, uri in pictures %}<p class="note">{{ id }}</p><img class="example" alt="{{ id }}" src="{{ uri }}">{% endfor %}{% endif %}
"""

NPU_TEMPLATE = r"""
<h2 id="npu">NPU{% if npu.runtime %}: {{ npu.runtime }}{% endif %}</h2>
{% if npu.get("ops_total") is not none %}<div class="banner {{ 'ok' if npu.all_on_npu and npu.budgets_passed else 'bad' }}"><b>{{ npu.ops_on_npu }} of {{ npu.ops_total }} ops on the NPU</b>{% if npu.cpu_ops %}; on the CPU: {{ npu.cpu_ops|map(attribute="op_type")|join(", ") }}{% endif %}; budgets {{ "pass" if npu.budgets_passed else "FAIL" }}.</div>
<table><tr><th>figure</th><th>value</th><th>budget</th><th>margin</th><th>how obtained</th><th>result</th></tr>
{% for b in npu.budget.rows %}<tr><td>{{ b.name }}</td><td class="num">{{ "%.4g"|format(b.value) }} {{ b.unit }}</td><td class="num">{{ "%.4g"|format(b.budget) }} {{ b.unit }}</td><td class="num">{{ "%.4g"|format(b.margin) }}</td><td>{{ b.how }}</td><td class="{{ 'pass' if b.passed else 'fail' }}">{{ "pass" if b.passed else "FAIL" }}</td></tr>{% endfor %}</table>
<p class="note">Accuracy: {{ npu.accuracy_source }}. {{ npu.notes|join(" ") }}</p>{% endif %}
"""

# The sections a page can show; report.json needs at least one of them.
SECTIONS = ("eval", "skew", "skew_entry_point", "npu", "monitor")


# Sections a stage renders itself, by module (it has html(section) and gate_rows(section)),
# so report/ imports no stage package.
EXTERNAL_SECTIONS = {"monitor": "edgekit.monitor.report"}


def external_section(name: str):
    from importlib import import_module

    return import_module(EXTERNAL_SECTIONS[name])


def identity(report: dict) -> tuple[str, str]:
    """(model, target) from the first section that names them."""
    for k in SECTIONS:
        sec = report.get(k) or {}
        if "model" in sec and "target" in sec:
            return sec["model"], sec["target"]
    return "?", "?"


def _data_uri(path: str) -> Optional[str]:
    """A PNG inlined, so the page stays one self-contained file."""
    p = Path(path)
    if not p.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def _env() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)


def _skew_html(sk: Optional[dict]) -> str:
    if not sk:
        return ""
    pictures = [(e["id"], uri) for e in (sk.get("examples", {}).get("preprocessing", {}).get("examples") or [])
                if e.get("picture") and (uri := _data_uri(e["picture"]))]
    return _env().from_string(SKEW_TEMPLATE).render(sk=sk, pictures=pictures)


def _npu_html(npu: Optional[dict]) -> str:
    return _env().from_string(NPU_TEMPLATE).render(npu=npu) if npu else ""


def render_html(report: dict) -> str:
    """The page for whatever report.json holds: eval, skew, skew_entry_point, npu and monitor
    sections, in that order."""
    present = [k for k in SECTIONS if report.get(k)]
    ev = report.get("eval")
    model, target = identity(report)
    common = dict(model=model, target=target, sections=present,
                  skew_html=_skew_html(report.get("skew")), npu_html=_npu_html(report.get("npu")),
                  entry_point_html=entry_point.html(report.get("skew_entry_point")),
                  monitor_html=external_section("monitor").html(report.get("monitor")))
    if not ev:
        return _env().from_string(TEMPLATE).render(ev=None, **common)
    budget_ms = next((b["budget"] for b in ev.get("budgets", []) if b["unit"] == "ms"), None)
    run = report.get("eval_run") or {}
    run_text = ", ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in run.items()
                         if not isinstance(v, (dict, list)))
    fields = list(ev["cohort_fields"]) + ["+".join(c) for c in ev["combinations"]]
    return _env().from_string(TEMPLATE).render(
        ev=ev, **common, per_op=(report.get("build") or {}).get("per_op"),
        per_op_unit=(((report.get("build") or {}).get("instructions_per_inference") or {}).get("unit") or "count"),
        lat=(ev.get("latency") or {}).get("request") or (ev.get("latency") or {}).get("model"),
        cohort_plots=[(f, s) for f in fields if (s := plots.cohort_accuracy(ev, f))],
        latency_svg=plots.latency(ev, budget_ms), budget_svg=plots.budgets(ev),
        confusion_svg=plots.confusion(ev), layer_svg=plots.layer_error(report),
        run=run, run_text=_html.unescape(run_text))
