"""`edgekit monitor check`: per cohort and time window, field telemetry against the reference
(the int8 model on the test split, summarised the same way). docs/ARCHITECTURE.md, monitor.

Per window of a cohort (field=value):

- output drift: Jensen-Shannon divergence of the top-1 class histogram and of the confidence
  histogram from the reference's, each turned into a p-value by resampling the reference at
  the window's own number of inferences (multinomial draws, RESAMPLES of them);
- input drift: the largest standardised shift of a per-feature mean (normal approximation
  of the window mean of per-inference feature means, Bonferroni over features);
- the window is over threshold when the smallest of the three p-values, times three
  (Bonferroni), is below ALPHA: a stationary window is over threshold at a rate of ALPHA
  (stated, and measured by the benchmarks); a cohort alarms after PERSIST consecutive windows
  over threshold, so a stationary cohort alarms at about (windows - 1) * ALPHA^2;
- a label-free accuracy estimate (confidence-based, as NannyML's CBPE): the reference's
  accuracy per confidence bin, weighted by the window's confidence histogram, with a 95%
  interval; checked against labelled samples where the window has them.

The reference is matched to the cohort: telemetry cohort fields that are also dataset cohort
fields (a device's microphone, sensor) restrict it to those test samples, mixed as the
windows' records are. When it started: a multinomial change point over the cohort's windows.
What it is (edgekit.monitor.verdict): skew in a firmware/app version that appeared in the
cohort and carries the drift, with the `edgekit skew` command that confirms it; drift carried
by one hardware model alone (its sensor); or world drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional, Sequence

import numpy as np

from edgekit.errors import UserError
from edgekit.monitor import store as st
from edgekit.monitor.reference import ReferenceSet
from edgekit.monitor.summary import CONF_BINS
from edgekit.monitor.telemetry import format_time as _iso
from edgekit.monitor.verdict import VERSION_FIELDS, classify

ALPHA = 0.01
PERSIST = 2
RESAMPLES = 2000
Z95 = 1.959964


# ----------------------------------------------------------------------------- aggregation

@dataclass
class Agg:
    """Summed telemetry of one group of records."""

    records: int
    n: int
    class_hist: np.ndarray
    conf_hist: np.ndarray
    feature_mean: np.ndarray
    labelled: int = 0
    labelled_correct: int = 0


def aggregate(store: st.TelemetryStore, group: Sequence[str], since: Optional[datetime], origin: datetime,
              window_days: int, where: Optional[dict] = None) -> dict[tuple, Agg]:
    """(values of `group` cohort fields..., window index) -> Agg. Cohort names and values are
    bound parameters; only the c<i>/b<i>/m<i> column names are formatted in."""
    info = store.info
    ms, _ = st.feature_cols(info.features)
    sums = ", ".join([f"sum({c})" for c in st.class_cols(info.classes) + st.conf_cols()]
                     + [f"sum(inferences * {m})" for m in ms])
    keys = ", ".join(["cohort[?]"] * len(group))
    win = "CAST(floor(epoch(window_start - ?::TIMESTAMPTZ) / ?) AS INTEGER)"
    cond, params_w = ["window_start >= ?"], [since or datetime(2000, 1, 1, tzinfo=timezone.utc)]
    for k, v in (where or {}).items():
        cond.append("cohort[?] = ?")
        params_w += [k, v]
    sel = f"{keys + ', ' if keys else ''}{win} AS w"
    n_key = len(group) + 1
    gb = ", ".join(str(i + 1) for i in range(n_key))
    params = list(group) + [origin, window_days * 86400.0] + params_w
    rows = store.con.execute(
        f"SELECT {sel}, count(*), sum(inferences), {sums} FROM windows WHERE {' AND '.join(cond)} GROUP BY {gb}",
        params).fetchall()
    out: dict[tuple, Agg] = {}
    C = info.classes
    for r in rows:
        n = int(r[n_key + 1] or 0)
        vals = np.array([float(x or 0) for x in r[n_key + 2:]])
        fm = vals[C + CONF_BINS:] / n if n else np.zeros(info.features)
        out[tuple(r[:n_key])] = Agg(int(r[n_key]), n, vals[:C], vals[C:C + CONF_BINS], fm)
    lab = store.con.execute(
        f"SELECT {sel}, count(*), sum(CASE WHEN l.label = l.pred THEN 1 ELSE 0 END) "
        f"FROM labelled l JOIN windows USING (record_key) WHERE {' AND '.join(cond)} GROUP BY {gb}",
        params).fetchall()
    for r in lab:
        a = out.get(tuple(r[:n_key]))
        if a is not None:
            a.labelled, a.labelled_correct = int(r[n_key]), int(r[n_key + 1])
    return out


# ----------------------------------------------------------------------------- reference

@dataclass
class MatchedReference:
    """The reference distribution a group of windows is held to (weighted test samples)."""

    p_class: np.ndarray
    p_conf: np.ndarray
    acc_by_bin: np.ndarray      # calibrated accuracy per confidence bin
    n_by_bin: np.ndarray        # effective reference samples per bin (for the interval)
    feature_mu: np.ndarray
    feature_sd: np.ndarray      # sd of per-inference feature means
    accuracy: float


def matched_reference(ref: ReferenceSet, mix: dict[tuple, float], fields: Sequence[str]) -> MatchedReference:
    """mix: values of the dataset `fields` -> inference count; samples are weighted so each
    signature carries its share (all samples equally when no field is reported)."""
    N = len(ref.labels)
    w = np.zeros(N)
    if not fields or not mix:
        w[:] = 1.0
    else:
        total = sum(mix.values()) or 1.0
        for sig, n in mix.items():
            idx = ref.indices(**dict(zip(fields, sig)))
            if len(idx):
                w[idx] += (n / total) / len(idx)
        if w.sum() == 0:
            w[:] = 1.0
    w = w / w.sum()
    ps = ref.samples
    p_class = np.bincount(ps.pred, weights=w, minlength=ref.classes)
    p_conf = np.bincount(ps.conf_bin, weights=w, minlength=CONF_BINS)
    ok = ref.correct.astype(np.float64)
    # Effective sample size per bin (Kish) so the calibration's uncertainty stays honest.
    wb = np.bincount(ps.conf_bin, weights=w, minlength=CONF_BINS)
    wb2 = np.bincount(ps.conf_bin, weights=w * w, minlength=CONF_BINS)
    n_eff = np.where(wb2 > 0, wb * wb / np.maximum(wb2, 1e-300), 0.0)
    acc_raw = np.bincount(ps.conf_bin, weights=w * ok, minlength=CONF_BINS) / np.maximum(wb, 1e-300)
    # Empty or thin bins fall back towards the bin's confidence (its midpoint).
    mid = (np.arange(CONF_BINS) + 0.5) / CONF_BINS
    acc = (acc_raw * n_eff + mid * 2.0) / (n_eff + 2.0)
    fmean = ps.feature_sum / ps.feature_elements
    mu = (w[:, None] * fmean).sum(axis=0)
    sd = np.sqrt(np.maximum((w[:, None] * (fmean - mu) ** 2).sum(axis=0), 1e-12))
    return MatchedReference(p_class, p_conf, acc, n_eff, mu, sd, float((w * ok).sum()))


def _js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (bits) of rows of p against q."""
    p = np.atleast_2d(p)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=1)
        b = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=1)
    return 0.5 * (a + b)


def _resampled_p(observed: float, q: np.ndarray, n: int, rng: np.random.Generator) -> float:
    """P(JS >= observed) for a window of n inferences drawn from the reference q."""
    draws = rng.multinomial(n, q / q.sum(), size=RESAMPLES) / max(n, 1)
    js = _js(draws, q)
    return float((1 + (js >= observed - 1e-15).sum()) / (RESAMPLES + 1))


# ----------------------------------------------------------------------------- windows

@dataclass
class WindowCheck:
    window: int
    start: str
    records: int
    inferences: int
    js_class: float
    js_conf: float
    p_class: float
    p_conf: float
    input_z: float
    p_input: float
    over: bool
    est_accuracy: float
    est_low: float
    est_high: float
    labelled: int = 0
    labelled_accuracy: Optional[float] = None
    versions: dict = field(default_factory=dict)   # version field -> {value: share of inferences}


def check_window(a: Agg, m: MatchedReference, rng: np.random.Generator) -> dict:
    n = a.n
    if n == 0:
        return dict(js_class=0.0, js_conf=0.0, p_class=1.0, p_conf=1.0, input_z=0.0, p_input=1.0, over=False,
                    est_accuracy=float("nan"), est_low=float("nan"), est_high=float("nan"))
    pc, pb = a.class_hist / n, a.conf_hist / n
    js_c, js_b = float(_js(pc, m.p_class)[0]), float(_js(pb, m.p_conf)[0])
    p_c, p_b = _resampled_p(js_c, m.p_class, n, rng), _resampled_p(js_b, m.p_conf, n, rng)
    z = np.abs(a.feature_mean - m.feature_mu) / (m.feature_sd / math.sqrt(n))
    zmax = float(z.max()) if z.size else 0.0
    p_in = min(1.0, len(z) * math.erfc(zmax / math.sqrt(2.0))) if z.size else 1.0
    over = 3.0 * min(p_c, p_b, p_in) < ALPHA
    est = float((pb * m.acc_by_bin).sum())
    var = float((pb * m.acc_by_bin * (1 - m.acc_by_bin)).sum() / n
                + ((pb ** 2) * m.acc_by_bin * (1 - m.acc_by_bin) / np.maximum(m.n_by_bin, 1.0)).sum())
    sd = math.sqrt(max(var, 0.0))
    return dict(js_class=js_c, js_conf=js_b, p_class=p_c, p_conf=p_b, input_z=zmax, p_input=p_in, over=over,
                est_accuracy=est, est_low=max(0.0, est - Z95 * sd), est_high=min(1.0, est + Z95 * sd))


def change_point(hists: list[np.ndarray]) -> Optional[int]:
    """The index of the first window after the most likely single change in the windows'
    combined class+confidence histograms (multinomial likelihood ratio); None if < 3 windows."""
    T = len(hists)
    if T < 3:
        return None
    H = np.array(hists, np.float64) + 0.5
    best, at = -1.0, None
    tot = H.sum(axis=0)

    def ll(c):
        return float((c * np.log(c / c.sum())).sum())

    whole = ll(tot)
    cum = np.cumsum(H, axis=0)
    for tau in range(1, T):
        g = ll(cum[tau - 1]) + ll(tot - cum[tau - 1]) - whole
        if g > best:
            best, at = g, tau
    return at


# ----------------------------------------------------------------------------- the check

@dataclass
class CohortCheck:
    field: str
    value: str
    windows: list[WindowCheck]
    alarm: bool
    detected_window: Optional[int]
    change_window: Optional[int]
    reference_accuracy: float
    over_windows: int
    verdict: Optional[dict] = None


@dataclass
class MonitorCheck:
    model: str
    target: str
    store: str
    origin: str
    window_days: int
    alpha: float
    persist: int
    cohorts: list[CohortCheck]
    by: list[str]
    records: int
    how: str = ("label-free: output and input drift against the int8 model on the test split (LiteRT reference "
                "kernels), thresholds by resampling the reference at each window's size; accuracy estimated "
                "from calibrated confidences (CBPE), labelled samples measured where devices sent them")

    @property
    def alarms(self) -> list[CohortCheck]:
        return [c for c in self.cohorts if c.alarm]


def _signature_mix(store, by_field, value, sig_fields, since, origin, window_days, where=None):
    """window -> {signature: inferences} for one cohort (to match the reference)."""
    w = dict(where or {})
    w[by_field] = value
    agg = aggregate(store, list(sig_fields), since, origin, window_days, where=w)
    out: dict[int, dict[tuple, float]] = {}
    for key, a in agg.items():
        out.setdefault(key[-1], {})[tuple(str(x) for x in key[:-1])] = float(a.n)
    return out


def _series(store, ref, field_, value, sig_fields, since, origin, window_days, rng, where=None):
    w = dict(where or {})
    w[field_] = value
    agg = aggregate(store, [], since, origin, window_days, where=w)
    mixes = _signature_mix(store, field_, value, sig_fields, since, origin, window_days, where) if sig_fields else {}
    out = []
    for (win,), a in sorted(agg.items()):
        m = matched_reference(ref, mixes.get(win, {}), sig_fields)
        res = check_window(a, m, rng)
        start = origin + timedelta(days=win * window_days)
        out.append((win, a, m, WindowCheck(
            window=win, start=_iso(start), records=a.records, inferences=a.n, labelled=a.labelled,
            labelled_accuracy=(a.labelled_correct / a.labelled) if a.labelled else None, **res)))
    return out


def _first_persistent(flags: list[bool]) -> Optional[int]:
    run = 0
    for i, f in enumerate(flags):
        run = run + 1 if f else 0
        if run >= PERSIST:
            return i
    return None


def check(store: st.TelemetryStore, ref: ReferenceSet, model_spec, target_name: str, by: Sequence[str],
          since: Optional[datetime] = None, window_days: int = 1, seed: int = 0) -> MonitorCheck:
    """The whole check over the store (see the module docstring)."""
    if window_days < 1:
        raise UserError("--window-days must be at least 1")
    fields = store.cohort_fields()
    if not fields:
        raise UserError(f"{store.info.path}: no telemetry yet; run `edgekit monitor ingest FILES` first")
    for f in by:
        if f not in fields:
            raise UserError(f"--by {f}: no telemetry record has cohort field {f!r} (present: {', '.join(fields)})")
    sig_fields = [f for f in fields if f in set(model_spec.cohort_fields)]
    first = store.con.execute("SELECT min(window_start), count(*) FROM windows WHERE window_start >= ?",
                              [since or datetime(2000, 1, 1, tzinfo=timezone.utc)]).fetchone()
    if first[0] is None:
        raise UserError(f"--since {since}: no telemetry window starts on or after it")
    origin = first[0].astimezone(timezone.utc)
    rng = np.random.default_rng(seed)
    cohorts: list[CohortCheck] = []

    def pooled(field_, value, where, from_window):   # what the verdicts ask of the store (monitor.verdict)
        return _pooled_over(store, ref, field_, value, where, sig_fields, since, origin, window_days, rng, from_window)

    for f in by:
        values = [r[0] for r in store.con.execute(
            "SELECT DISTINCT cohort[?] FROM windows WHERE cohort[?] IS NOT NULL AND window_start >= ? ORDER BY 1",
            [f, f, origin]).fetchall()]
        for v in values:
            series = _series(store, ref, f, v, sig_fields, since, origin, window_days, rng)
            wins = [s[3] for s in series]
            flags = [w.over for w in wins]
            det = _first_persistent(flags)
            cp = None
            if det is not None:
                cp_i = change_point([np.r_[s[1].class_hist, s[1].conf_hist] for s in series])
                cp = wins[cp_i].window if cp_i is not None else None
            cc = CohortCheck(f, str(v), wins, det is not None, wins[det].window if det is not None else None, cp,
                             float(np.mean([s[2].accuracy for s in series])) if series else float("nan"),
                             int(sum(flags)))
            if cc.alarm:
                cc.verdict = classify(store, cc, model_spec, target_name, origin, window_days, pooled)
            cohorts.append(cc)
    return MonitorCheck(model_spec.name, target_name, str(store.info.path), _iso(origin), window_days, ALPHA,
                        PERSIST, cohorts, list(by), int(first[1]))


def _pooled_over(store, ref, field_: str, value: str, where: dict, sig_fields, since, origin, window_days, rng,
                 from_window: int) -> Optional[dict]:
    """Drift of the cohort field_=value restricted by `where`, pooled over windows >= from_window."""
    series = _series(store, ref, field_, value, sig_fields, since, origin, window_days, rng, where)
    series = [s for s in series if s[0] >= from_window]
    if not series:
        return None
    over = [s[3].over for s in series]
    est = [s[3].est_accuracy for s in series]
    acc = [s[2].accuracy for s in series]
    return {"windows": len(series), "over_share": float(np.mean(over)),
            "est_accuracy": float(np.nanmean(est)), "reference_accuracy": float(np.mean(acc)),
            "inferences": int(sum(s[1].n for s in series)), "first_window": series[0][0]}
