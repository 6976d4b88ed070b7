"""report.html: one self-contained page (inline CSS and SVG plots) rendered from report.json."""

from __future__ import annotations

import html as _html

import jinja2

from edgekit.report import plots

TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>edgekit: {{ ev.model }} on {{ ev.target }}</title>
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
</style></head><body>
<h1>{{ ev.model }} on {{ ev.target }}</h1>
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
{% for f in ev.flagged %}<tr><td>{{ "overall" if f.field == "all" else f.field ~ "=" ~ f.value }}</td><td class="num">{{ "%.1f"|format(f.accuracy_reference*100) }}%</td><td class="num">{{ "%.1f"|format(f.accuracy_path*100) }}%</td><td class="num">{{ "%.1f"|format(-f.difference*100) }}</td><td class="num">{{ "%.2g"|format(f.p_value) }}</td><td><b>{{ f.stage }}</b></td></tr>{% endfor %}</table>
{% else %}<p class="pass">No cohort flagged.</p>{% endif %}
{% for field, svg in cohort_plots %}<h3>{{ field }}</h3>{{ svg|safe }}{% endfor %}

<h3>Where accuracy changes, stage by stage (points, with 95% interval)</h3>
<table><tr><th>cohort</th><th>n</th><th>quantization<br><span class="note">float &rarr; int8 host</span></th><th>kernel numerics<br><span class="note">int8 host &rarr; device</span></th><th>preprocessing<br><span class="note">device features &rarr; end to end</span></th></tr>
{% for a in ev.attribution %}<tr><td>{{ "overall" if a.field == "all" else a.field ~ "=" ~ a.value }}</td><td class="num">{{ (a.quantization or a.kernels or {}).get("n", "") }}</td>
{% for s in ("quantization", "kernels", "preprocessing") %}{% set d = a[s] %}<td class="num">{% if d %}<span class="{{ 'fail' if d.significant and d.difference < 0 else '' }}">{{ "%+.1f"|format(d.difference*100) }}</span> [{{ "%+.1f"|format(d.ci_low*100) }}, {{ "%+.1f"|format(d.ci_high*100) }}]{% else %}<span class="na">n/a</span>{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>

<h2>Does the device compute what the host computes?</h2>
{% set be = ev.bit_exact %}<p>{% if be.compared %}{{ be.equal }} of {{ be.compared }} samples ({{ "%.2f"|format(be.share*100) }}%) have a device output byte-for-byte equal to the int8 host reference.{% else %}<span class="na">No samples with both int8 paths.</span>{% endif %} <span class="note">{{ be.how }}</span></p>

<h2>Is it fast enough? Latency</h2>
{% if lat %}<table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>how</th></tr>
{% for name, l in ev.latency.items() if l %}<tr><td>{{ name }} ({{ l.unit }})</td>{% for q in ("p50","p90","p99","max") %}<td class="num">{{ "{:,.0f}".format(l[q]) }}</td>{% endfor %}<td>{{ l.how }}</td></tr>
<tr><td>{{ name }} (ms)</td>{% for q in ("p50","p90","p99","max") %}<td class="num">{{ "%.3f"|format(l[q ~ "_ms"]) }}</td>{% endfor %}<td>{{ l.time_how }}</td></tr>{% endfor %}</table>
{{ latency_svg|safe }}{% else %}<p class="na">No device latency (no device results).</p>{% endif %}

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
<p class="note">Generated by edgekit from report.json. "measured" = measured on the device or from the link; "counted" = counted by the emulator (QEMU counts instructions, not cycles); "estimated" = derived with the target profile's model (CPI, power).</p>
</body></html>
"""


def render_html(report: dict) -> str:
    ev = report["eval"]
    budget_ms = next((b["budget"] for b in ev.get("budgets", []) if b["unit"] == "ms"), None)
    run = report.get("eval_run") or {}
    run_text = ", ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in run.items()
                         if not isinstance(v, (dict, list)))
    fields = list(ev["cohort_fields"]) + ["+".join(c) for c in ev["combinations"]]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    return env.from_string(TEMPLATE).render(
        ev=ev, lat=(ev.get("latency") or {}).get("request") or (ev.get("latency") or {}).get("model"),
        cohort_plots=[(f, s) for f in fields if (s := plots.cohort_accuracy(ev, f))],
        latency_svg=plots.latency(ev, budget_ms), budget_svg=plots.budgets(ev),
        confusion_svg=plots.confusion(ev), layer_svg=plots.layer_error(report),
        run=run, run_text=_html.unescape(run_text))
