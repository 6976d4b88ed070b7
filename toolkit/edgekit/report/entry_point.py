"""report.html's part for the `skew_entry_point` section: the skew of a preprocessing entry
point (captures, a Python pipeline, a user C frontend) against the reference preprocessing,
per cohort, as edgekit.skew.host writes it (docs/ARCHITECTURE.md, report)."""

from __future__ import annotations

from typing import Optional

TEMPLATE = r"""
<h2 id="skew_entry_point">Preprocessing entry point against the reference: {{ ep.entry_point }} {{ ep.version }}</h2>
<p class="note">From <code>edgekit skew</code> ({{ "on the device" if ep.on_device else "on the host" }}) on {{ sec.samples }} samples{% if sec.failures %}, {{ sec.failures|length }} failed{% endif %}{% if sec.skipped %}, {{ sec.skipped|length }} bad rows left out{% endif %}. {{ sec.measure_how }}</p>
{% if sec.preprocessing_skew %}<div class="banner bad"><b>Preprocessing skew in {{ sec.preprocessing_skew|length }} cohort(s)</b>:
{% for f in sec.preprocessing_skew %}{{ f.field }}={{ f.value }}: {{ f.summary }} (int8 95% interval [{{ "%+.1f"|format(f.ci_low*100) }}, {{ "%+.1f"|format(f.ci_high*100) }}], p={{ "%.2g"|format(f.p_value) }}){% if f.carried_by and f.carried_by != f.field ~ "=" ~ f.value %}, carried by {{ f.carried_by }}{% endif %}{{ "; " if not loop.last }}{% endfor %}</div>
{% else %}<div class="banner ok"><b>No cohort shows preprocessing skew</b> (a significant drop over {{ "%.1f"|format(sec.max_cohort_drop*100) }} points).</div>{% endif %}
<table><tr><th>path</th><th>{{ sec.measure }} (measured)</th></tr>
{% for p, a in sec.accuracy.items() %}<tr><td>{{ p }}</td><td class="num">{{ "%.1f"|format(a*100) }}%</td></tr>{% endfor %}</table>
<h3>Change per cohort (points, with 95% interval; bold red = significant drop)</h3>
<table><tr><th>cohort</th><th>n</th><th>preprocessing, int8</th><th>preprocessing, float</th><th>interaction<br><span class="note">int8 minus float</span></th>{% if has_device %}<th>device numerics</th>{% endif %}<th>parity<br><span class="note">max |d| steps / elements differing</span></th><th>clipped<br><span class="note">implementation (reference)</span></th><th>detectable drop<br><span class="note">estimated</span></th><th>diagnosis</th></tr>
{% for c in sec.cohorts %}<tr><td>{{ "overall" if c.field == "all" else c.field ~ "=" ~ c.value }}</td><td class="num">{{ c.n }}</td>
{% for s in stages %}{% set x = c.get(s) %}<td class="num">{% if x %}<span class="{{ 'fail' if x.significant and x.difference < 0 else '' }}">{{ "%+.1f"|format(x.difference*100) }}</span> [{{ "%+.1f"|format(x.ci_low*100) }}, {{ "%+.1f"|format(x.ci_high*100) }}]{% else %}<span class="na">n/a</span>{% endif %}</td>{% endfor %}
<td class="num">{{ c.parity.max_abs_diff }} / {{ "%.1f"|format(c.parity.share_differing*100) }}%</td>
<td class="num">{{ "%.0f"|format(clipped[loop.index0][0]*100) }}% ({{ "%.0f"|format(clipped[loop.index0][1]*100) }}%)</td>
<td class="num">{{ "%.1f"|format(c.detectable_drop*100) }}</td><td>{{ c.diagnosis.kind if c.diagnosis else "" }}</td></tr>{% endfor %}</table>
{% for c in sec.cohorts if c.diagnosis and c.field ~ "=" ~ c.value in carriers %}<p><b>{{ c.field }}={{ c.value }}</b> ({{ c.diagnosis.kind }}): {{ c.diagnosis.text }}</p>{% endfor %}
{% if sec.differs_not_significant %}<h3>Preprocessing differs, accuracy not affected at this sample size</h3>
<table><tr><th>cohort</th><th>n</th><th>could detect a drop of (points, estimated)</th><th>kind</th></tr>
{% for q in sec.differs_not_significant %}<tr><td>{{ q.field }}={{ q.value }}</td><td class="num">{{ q.n }}</td><td class="num">{{ "%.1f"|format(q.detectable_drop*100) }}</td><td>{{ q.kind or "unexplained" }}</td></tr>{% endfor %}</table>{% endif %}
{% if sec.failures %}<h3>Samples the implementation failed on</h3><table><tr><th>sample</th><th>reason</th></tr>
{% for x in sec.failures[:20] %}<tr><td>{{ x.id }}</td><td>{{ x.reason }}</td></tr>{% endfor %}</table>{% if sec.failures|length > 20 %}<p class="note">... and {{ sec.failures|length - 20 }} more (report.json)</p>{% endif %}{% endif %}
{% if sec.skipped %}<h3>Bad rows left out</h3><table><tr><th>where</th><th>id</th><th>problem</th></tr>
{% for b in sec.skipped[:20] %}<tr><td>{{ b.where }}</td><td>{{ b.id }}</td><td>{{ b.problem }}</td></tr>{% endfor %}</table>{% if sec.skipped|length > 20 %}<p class="note">... and {{ sec.skipped|length - 20 }} more (report.json)</p>{% endif %}{% endif %}
<p class="note">{{ sec.how }}</p>
"""


def device_clip_share(sat: dict) -> tuple[int, float]:
    """(channel, share) of the channel whose device input clips most often (at 127 or -128)
    in a cohort's `saturation` entry; (0, 0.0) when it has no channels."""
    dev = [h + lo for h, lo in zip(sat.get("device_high", []), sat.get("device_low", []))]
    if not dev:
        return 0, 0.0
    worst = max(range(len(dev)), key=dev.__getitem__)
    return worst, dev[worst]


def html(sec: Optional[dict]) -> str:
    """The section's part of report.html ("" when report.json has none)."""
    if not sec:
        return ""
    from edgekit.report.html import _env

    has_device = any(c.get("device_numerics") for c in sec.get("cohorts", []))
    stages = ("preprocessing_int8", "preprocessing_float", "interaction") + (("device_numerics",) if has_device else ())
    clipped = []
    for c in sec.get("cohorts", []):
        sat = c.get("saturation") or {}
        clipped.append((device_clip_share(sat)[1], max(sat.get("reference", []), default=0.0)))
    carriers = {f.get("carried_by") for f in sec.get("preprocessing_skew", [])}
    return _env().from_string(TEMPLATE).render(sec=sec, ep=sec.get("entry_point") or {}, stages=stages,
                                               has_device=has_device, clipped=clipped, carriers=carriers)
