"""Statistics for evaluation: per-cohort accuracy with Wilson intervals, paired path
differences with McNemar's test, cohort flagging, and latency percentiles.

Everything here works on plain numbers or on the harness's per-sample records (dicts as
read from records.jsonl), so it is testable against hand-computed cases and has no
dependency on devices or models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

Z95 = 1.959963984540054  # two-sided 95% normal quantile

# Below this many discordant pairs McNemar's chi-square approximation is poor, so the exact
# binomial test is used (the usual rule of thumb: b + c < 25).
EXACT_MCNEMAR_BELOW = 25


# --- intervals and tests -------------------------------------------------------------------

def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a proportion correct/n; (0, 1) when n == 0."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= correct <= n:
        raise ValueError(f"correct={correct} outside 0..{n}")
    p = correct / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    # At k = 0 or k = n the bound is exactly 0 or 1; don't let rounding say otherwise.
    return (0.0 if correct == 0 else lo, 1.0 if correct == n else hi)


def _binom_two_sided_half(k: int, n: int) -> float:
    """Two-sided exact binomial p-value for k successes out of n with p = 0.5."""
    if n == 0:
        return 1.0
    k = min(k, n - k)
    # P(X <= k) for Binomial(n, 1/2), doubled (the distribution is symmetric).
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)


def _chi2_sf_1dof(x: float) -> float:
    """Survival function of chi-square with one degree of freedom."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2.0))


@dataclass(frozen=True)
class McNemar:
    b: int          # reference right, other path wrong
    c: int          # reference wrong, other path right
    p_value: float
    method: str     # "exact binomial" or "chi-square (continuity corrected)"


def mcnemar(b: int, c: int) -> McNemar:
    """McNemar's test on the discordant counts of a paired comparison."""
    n = b + c
    if n == 0:
        return McNemar(b, c, 1.0, "exact binomial")
    if n < EXACT_MCNEMAR_BELOW:
        return McNemar(b, c, _binom_two_sided_half(min(b, c), n), "exact binomial")
    stat = (abs(b - c) - 1) ** 2 / n
    return McNemar(b, c, _chi2_sf_1dof(stat), "chi-square (continuity corrected)")


def paired_difference_interval(b: int, c: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% interval for acc(other) - acc(ref) from paired outcomes (Wald, paired variance).

    b = ref right/other wrong, c = ref wrong/other right, n = pairs. The difference is
    (c - b) / n; its variance uses the discordant counts, as the concordant pairs cancel.
    """
    if n <= 0:
        return (-1.0, 1.0)
    d = (c - b) / n
    var = ((b + c) / n - d * d) / n
    half = z * math.sqrt(max(var, 0.0))
    return (max(-1.0, d - half), min(1.0, d + half))


# --- latency -------------------------------------------------------------------------------

def percentile_nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 < q <= 100) by nearest rank: an observed value, never an
    interpolation, so p99 of 100 samples is the 99th smallest and p100 the maximum."""
    if not values:
        raise ValueError("no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} outside (0, 100]")
    s = sorted(values)
    rank = math.ceil(q / 100.0 * len(s))
    return s[max(rank, 1) - 1]


@dataclass(frozen=True)
class LatencySummary:
    n: int
    unit: str                    # "instructions (emulated)" or "cycles"
    how: str                     # how the counts were obtained
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    # Conversion to time: counts x cycles-per-count / clock. Instructions need an estimated
    # CPI; cycles from silicon need none, so their times are measured.
    time_how: str
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


def counts_to_ms(count: float, unit: str, clock_mhz: float, cpi: float) -> float:
    cycles = count * cpi if is_instruction_unit(unit) else count
    return cycles / (clock_mhz * 1e3)


def is_instruction_unit(unit: str) -> bool:
    return unit.startswith("instruction")


def latency_summary(counts: Sequence[float], unit: str, clock_mhz: float, cpi: float) -> LatencySummary:
    """p50/p90/p99/max of per-sample counts, with their conversion to milliseconds."""
    if not counts:
        raise ValueError("no latency counts")
    emulated = is_instruction_unit(unit)
    pct = {q: percentile_nearest_rank(counts, q) for q in (50, 90, 99, 100)}
    # Counters resolve one unit (an instruction or a cycle); so does their mean here.
    mean = float(round(sum(counts) / len(counts)))
    to_ms = lambda c: counts_to_ms(c, unit, clock_mhz, cpi)  # noqa: E731
    return LatencySummary(
        n=len(counts), unit=unit,
        how="counted by the emulator (QEMU -icount)" if emulated else "measured on device (cycle counter)",
        p50=pct[50], p90=pct[90], p99=pct[99], max=pct[100], mean=mean,
        time_how=(f"estimated: instructions x {cpi:g} cycles/instruction (profile cpi) / {clock_mhz:g} MHz"
                  if emulated else f"measured: cycles / {clock_mhz:g} MHz"),
        p50_ms=to_ms(pct[50]), p90_ms=to_ms(pct[90]), p99_ms=to_ms(pct[99]),
        max_ms=to_ms(pct[100]), mean_ms=to_ms(mean),
    )


# --- per-cohort accuracy over records ------------------------------------------------------

@dataclass(frozen=True)
class CohortAccuracy:
    field: str           # a cohort field, a combination "mic+snr_db", or "all"
    value: str
    path: str
    n: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class CohortComparison:
    field: str
    value: str
    reference: str        # path compared against, e.g. "float"
    path: str             # path under test, e.g. "device_features"
    n: int                # samples where both paths have a prediction
    accuracy_reference: float
    accuracy_path: float
    difference: float     # accuracy_path - accuracy_reference (negative = a drop)
    diff_ci_low: float
    diff_ci_high: float
    b: int
    c: int
    p_value: float
    test: str
    significant: bool
    flagged: bool         # significant AND drop > threshold


def cohort_key(record: Mapping, fields: Sequence[str]) -> Optional[str]:
    """The value of one field or a "+"-joined combination in a record's cohort."""
    cohort = record.get("cohort", {})
    parts = []
    for f in fields:
        if f not in cohort:
            return None
        parts.append(value_key(cohort[f]))
    return "+".join(parts)


def value_key(v) -> str:
    """Cohort values as report keys: 10.0 -> "10", "flat" -> "flat"."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)



def prediction(record: Mapping, path: str) -> Optional[int]:
    """A path's prediction in a record, or None when the path failed or is unavailable."""
    p = record.get("paths", {}).get(path)
    if not p or p.get("status", "ok") != "ok":
        return None
    return p.get("pred")


def _groupings(fields: Sequence[str], combos: Sequence[Sequence[str]]) -> list[tuple[str, tuple[str, ...]]]:
    out = [("all", ())]
    out += [(f, (f,)) for f in fields]
    out += [("+".join(c), tuple(c)) for c in combos if c]
    return out


def _groups(records: Iterable[Mapping], fields: Sequence[str], combos: Sequence[Sequence[str]]):
    """Yield (grouping name, value, list of records) in a stable order (values sorted
    numerically where they are numbers)."""
    records = list(records)
    for name, keys in _groupings(fields, combos):
        if not keys:
            yield name, "all", records
            continue
        buckets: dict[str, list] = {}
        for r in records:
            k = cohort_key(r, keys)
            if k is not None:
                buckets.setdefault(k, []).append(r)
        for value in sorted(buckets, key=value_sort_key):
            yield name, value, buckets[value]


def value_sort_key(v: str):
    """Report keys in order: numbers numerically first (5 < 10 < 40), then names; "+"-joined
    combinations part by part."""
    out = []
    for part in v.split("+"):
        try:
            out.append((0, float(part), ""))
        except ValueError:
            out.append((1, 0.0, part))
    return out


def per_cohort_accuracy(correct: Sequence[bool], cohorts: Sequence[Mapping], fields: Sequence[str]) -> dict:
    """{field: {value: {"n", "accuracy"}}} from one correct/incorrect flag per sample and its
    cohort mapping: accuracy_by_cohort's figures (the one per-cohort computation) as the
    compact table train's metrics.json and the convert report keep."""
    records = [{"cohort": dict(c), "label": 1, "paths": {"p": {"pred": int(bool(ok))}}}
               for ok, c in zip(correct, cohorts)]
    out: dict = {f: {} for f in fields}
    for row in accuracy_by_cohort(records, "p", fields):
        if row.field != "all":
            out[row.field][row.value] = {"n": row.n, "accuracy": row.accuracy}
    return out


def accuracy_by_cohort(records: Sequence[Mapping], path: str, fields: Sequence[str],
                       combos: Sequence[Sequence[str]] = ()) -> list[CohortAccuracy]:
    """Accuracy of one path overall, per cohort field and per combination, with intervals.

    Samples where the path has no prediction (device error, unavailable) are left out of n;
    the harness reports their count separately, so a failure never counts as right or wrong.
    """
    rows = []
    for name, value, group in _groups(records, fields, combos):
        scored = [(prediction(r, path), r["label"]) for r in group]
        scored = [(p, y) for p, y in scored if p is not None]
        if not scored:
            continue
        n = len(scored)
        k = sum(1 for p, y in scored if p == y)
        lo, hi = wilson_interval(k, n)
        rows.append(CohortAccuracy(name, value, path, n, k, k / n, lo, hi))
    return rows


def compare_paths(records: Sequence[Mapping], reference: str, path: str, fields: Sequence[str],
                  combos: Sequence[Sequence[str]] = (), threshold: float = 0.02,
                  alpha: float = 0.05) -> list[CohortComparison]:
    """Paired comparison of `path` against `reference` per cohort (McNemar's test).

    A cohort is flagged when its drop is significant (p < alpha) and larger than
    `threshold` (a fraction: 0.02 = 2 accuracy points).
    """
    rows = []
    for name, value, group in _groups(records, fields, combos):
        pairs = []
        for r in group:
            a, o = prediction(r, reference), prediction(r, path)
            if a is not None and o is not None:
                pairs.append((a == r["label"], o == r["label"]))
        if not pairs:
            continue
        n = len(pairs)
        b = sum(1 for a, o in pairs if a and not o)
        c = sum(1 for a, o in pairs if o and not a)
        acc_ref = sum(1 for a, _ in pairs if a) / n
        acc_path = sum(1 for _, o in pairs if o) / n
        test = mcnemar(b, c)
        lo, hi = paired_difference_interval(b, c, n)
        diff = acc_path - acc_ref
        significant = test.p_value < alpha
        rows.append(CohortComparison(
            field=name, value=value, reference=reference, path=path, n=n,
            accuracy_reference=acc_ref, accuracy_path=acc_path, difference=diff,
            diff_ci_low=lo, diff_ci_high=hi, b=b, c=c, p_value=test.p_value, test=test.method,
            significant=significant, flagged=significant and -diff > threshold))
    return rows


def confusion_matrix(records: Sequence[Mapping], path: str, n_classes: int) -> list[list[int]]:
    """rows = true label, columns = predicted label."""
    m = [[0] * n_classes for _ in range(n_classes)]
    for r in records:
        p = prediction(r, path)
        if p is not None and 0 <= p < n_classes and 0 <= r["label"] < n_classes:
            m[r["label"]][p] += 1
    return m


def parse_combos(text: Optional[str]) -> list[list[str]]:
    """"mic+snr_db,accent+voice" -> [["mic", "snr_db"], ["accent", "voice"]]."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        fields = [f.strip() for f in part.split("+") if f.strip()]
        if fields:
            out.append(fields)
    return out
