"""Plots for report.html, as inline SVG strings (self-contained: no files, no network)."""

from __future__ import annotations

import io
import re
from typing import Optional

PATH_COLOURS = {"float": "#4c72b0", "int8_host": "#55a868", "device_features": "#c44e52", "device_e2e": "#8172b2"}
PATH_LABELS = {"float": "float (Keras)", "int8_host": "int8 host (LiteRT ref)",
               "device_features": "device, host features", "device_e2e": "device end to end"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "font.family": "DejaVu Sans"})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    s = buf.getvalue()
    s = s[s.index("<svg"):]
    # The RDF metadata block only names matplotlib; it is dead weight in an inline plot.
    return re.sub(r"<metadata>.*?</metadata>", "", s, flags=re.S)


def cohort_accuracy(section: dict, field: str) -> Optional[str]:
    rows = [r for r in section["accuracy"] if r["field"] == field]
    if not rows:
        return None
    plt = _plt()
    values = list(dict.fromkeys(r["value"] for r in rows))
    paths = [p for p in PATH_COLOURS if any(r["path"] == p for r in rows)]
    flagged = {f["value"] for f in section.get("flagged", []) if f["field"] == field}
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(values) * max(1, len(paths)) ** 0.5 + 1.0))
    step = 0.8 / max(1, len(paths))
    for k, p in enumerate(paths):
        by = {r["value"]: r for r in rows if r["path"] == p}
        ys, xs, lo, hi = [], [], [], []
        for i, v in enumerate(values):
            if v in by:
                r = by[v]
                ys.append(i + (k - (len(paths) - 1) / 2) * step)
                xs.append(r["accuracy"] * 100)
                lo.append((r["accuracy"] - r["ci_low"]) * 100)
                hi.append((r["ci_high"] - r["accuracy"]) * 100)
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", ms=4, capsize=2, color=PATH_COLOURS[p], label=PATH_LABELS[p])
    ax.set_yticks(range(len(values)))
    ax.set_yticklabels([f"{v}  (flagged)" if v in flagged else v for v in values])
    for t, v in zip(ax.get_yticklabels(), values):
        if v in flagged:
            t.set_color("#b00020")
            t.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlabel("accuracy (%) with 95% Wilson interval")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(paths), frameon=False, fontsize=9)
    return _svg(fig)


def confusion(section: dict) -> Optional[str]:
    c = section.get("confusion")
    if not c:
        return None
    import numpy as np

    plt = _plt()
    m = np.asarray(c["matrix"], dtype=float)
    labels = c["labels"]
    row = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, row, out=np.zeros_like(m), where=row > 0)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(0.5 * n + 2.5, 0.5 * n + 2))
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(n))
    ax.set_xticklabels(labels, rotation=60, ha="right")
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels)
    ax.set_xlabel(f"predicted ({PATH_LABELS.get(c['path'], c['path'])})")
    ax.set_ylabel("true label")
    return _svg(fig)


def latency(section: dict, budget_ms: Optional[float]) -> Optional[str]:
    """Left: the distribution (zoomed to the data). Right: percentiles against the budget."""
    lat = (section.get("latency") or {}).get("request") or (section.get("latency") or {}).get("model")
    if not lat:
        return None
    plt = _plt()
    h = lat["histogram"]
    # Counts -> milliseconds with the same conversion the summary used.
    per = lat["p50_ms"] / lat["p50"] if lat["p50"] else 0.0
    edges = [e * per for e in h["edges"]]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 2.9), gridspec_kw={"width_ratios": [3, 2]})
    widths = [max(b - a, 1e-9) for a, b in zip(edges, edges[1:])]
    ax.bar(edges[:-1], h["counts"], width=widths, align="edge", color="#c44e52", alpha=0.85)
    for q, style in (("p50", ":"), ("p99", "--")):
        ax.axvline(lat[f"{q}_ms"], color="black", ls=style, lw=1, label=f"{q} {lat[f'{q}_ms']:.2f} ms")
    ax.set_xlabel(f"ms per request ({lat['time_how'].split(':')[0]}, from {lat['unit']})")
    ax.ticklabel_format(axis="x", useOffset=False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_ylabel("samples")
    ax.set_title("distribution", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    names = ["p50", "p90", "p99", "max"]
    vals = [lat[f"{q}_ms"] for q in names]
    ax2.barh(names, vals, color=["#c44e52" if budget_ms and v > budget_ms else "#55a868" for v in vals])
    if budget_ms:
        ax2.axvline(budget_ms, color="#b00020", lw=2)

    for i, v in enumerate(vals):
        ax2.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    ax2.invert_yaxis()
    ax2.set_xlim(0, max(vals + [budget_ms or 0]) * 1.15)
    ax2.set_xlabel(f"ms (red line: p99 budget {budget_ms:g} ms)" if budget_ms else "ms")
    ax2.set_title("against the budget", fontsize=10)
    fig.tight_layout()
    return _svg(fig)


def budgets(section: dict) -> Optional[str]:
    rows = section.get("budgets") or []
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(rows) + 0.9))
    names = [f"{r['name']} ({r['value']:.4g} / {r['budget']:.4g} {r['unit']})" for r in rows]
    frac = [100 * r["value"] / r["budget"] for r in rows]
    ax.barh(range(len(rows)), frac, color=["#55a868" if r["passed"] else "#c44e52" for r in rows])
    ax.axvline(100, color="black", lw=1.5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlabel("% of budget used (line = budget)")
    ax.set_xlim(0, max(110, max(frac) * 1.05))
    return _svg(fig)


ERROR_KEYS = ("sqnr_db", "rmse_lsb", "rmse", "max_abs_error", "mean_abs_error", "error")
ERROR_LABELS = {"sqnr_db": "SQNR (dB, float vs int8, cumulative; lower is worse)",
                "rmse_lsb": "RMSE (quantization steps)"}


def _layer_table(conv: dict):
    """The converter's per-layer list: a list of dicts carrying an error metric, found at the
    top of the convert section or one level down (the converter owns its layout)."""
    cands = [conv] + [v for v in conv.values() if isinstance(v, dict)]
    for c in cands:
        for key in ("per_layer", "layers", "per_layer_error", "layer_errors"):
            v = c.get(key)
            if isinstance(v, list) and v and isinstance(v[0], dict):
                return v
        for v in c.values():
            if isinstance(v, list) and v and isinstance(v[0], dict) and any(k in v[0] for k in ERROR_KEYS):
                return v
    return None


def layer_error(report: dict) -> Optional[str]:
    """The converter's per-layer float vs int8 error, whichever metric its section carries."""
    layers = _layer_table(report.get("convert") or {})
    if not layers:
        return None
    metric = next((k for k in ERROR_KEYS if any(isinstance(l.get(k), (int, float)) for l in layers)), None)
    if metric is None:
        return None
    plt = _plt()
    names = []
    for i, l in enumerate(layers):
        n = str(l.get("layer") or l.get("name") or l.get("op") or i)
        names.append((n if len(n) <= 38 else n[:36] + "..") + (f" ({l['op']})" if l.get("op") and l.get("layer") else ""))
    vals = [float(l[metric]) if isinstance(l.get(metric), (int, float)) else 0.0 for l in layers]
    colours = ["#c44e52" if l.get("dominant") else "#4c72b0" for l in layers]
    fig, ax = plt.subplots(figsize=(8.5, 0.28 * len(layers) + 1.0))
    ax.barh(range(len(vals)), vals, color=colours)
    ax.set_yticks(range(len(vals)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(ERROR_LABELS.get(metric, f"{metric} (float vs int8)") + "; red = dominant layer, from the converter")
    return _svg(fig)
