"""What an alarmed cohort's change is, from what the telemetry shows (docs/ARCHITECTURE.md,
monitor; used by edgekit.monitor.analysis.check):

- skew in a firmware/app version: a version that appeared in the cohort carries the drift
  while the cohort's other versions on the same days do not. The verdict carries the
  `edgekit skew` command that confirms it: with `--firmware-variant V` when the version's
  devices report the edgekit firmware variant they run (cohort field `firmware_variant`),
  otherwise with captures from the affected devices, saying that the telemetry does not name
  the variant;
- drift in one hardware model: not tied to a version, carried by one device_model while the
  other device models on the same days are clearly not drifted: the devices' sensor or
  hardware (a wearing microphone), which retraining would only hide;
- world drift: the hardware models drift alike (what the devices see changed): retrain or
  recalibrate.

`pooled(field, value, where, from_window)` is the cohort field=value restricted by `where`
(a dict of cohort fields), pooled over windows >= from_window: {"over_share", ...} or None.
"""

from __future__ import annotations

from datetime import timezone
from typing import Callable, Optional

import numpy as np

from edgekit.monitor.telemetry import format_time

VERSION_FIELDS = ("firmware", "app_version")
HARDWARE_FIELD = "device_model"
VARIANT_FIELD = "firmware_variant"   # optional: the edgekit firmware variant a firmware version runs
CARRIES, CLEAN = 0.5, 0.1            # share of windows over threshold: drifted / clearly not drifted

Pooled = Callable[[str, str, dict, int], Optional[dict]]


def _window_of(seen, origin, window_days: int) -> int:
    return int((seen.astimezone(timezone.utc) - origin).total_seconds() // (86400 * window_days))


def classify(store, cohort, model_spec, target_name: str, origin, window_days: int, pooled: Pooled) -> dict:
    """The verdict of an alarmed cohort (an analysis.CohortCheck); see the module docstring."""
    start_win = cohort.change_window if cohort.change_window is not None else cohort.detected_window
    if cohort.field in VERSION_FIELDS:
        verdict = _new_version_skew(store, cohort, model_spec, target_name, origin, window_days, pooled)
        if verdict is not None:
            return verdict
    for vf in VERSION_FIELDS:
        if vf == cohort.field:
            continue
        rows = store.con.execute(
            "SELECT cohort[?] AS v, min(window_start) FROM windows WHERE cohort[?] = ? AND window_start >= ? "
            "GROUP BY 1 ORDER BY 2", [vf, cohort.field, cohort.value, origin]).fetchall()
        versions = [(r[0], r[1]) for r in rows if r[0] is not None]
        if len(versions) < 2:
            continue
        first_seen = versions[0][1]
        for value, seen in versions[1:]:
            if seen <= first_seen:
                continue
            from_win = _window_of(seen, origin, window_days)
            new = pooled(cohort.field, cohort.value, {vf: value}, from_win)
            others = [pooled(cohort.field, cohort.value, {vf: o}, from_win) for o, _ in versions if o != value]
            others = [o for o in others if o is not None]
            if new and new["over_share"] >= CARRIES and all(o["over_share"] < CARRIES for o in others):
                return {"kind": "skew", "field": vf, "version": value,
                        "appeared": format_time(seen), "carrying": new, "others": others,
                        "message": f"skew in {vf} {value}: the change in {cohort.field}={cohort.value} starts with "
                                   f"{vf} {value} (first seen {format_time(seen)[:10]}); its other {vf} values on "
                                   f"the same days are not drifted",
                        "confirm": _skew_command(store, model_spec, target_name, vf, value, cohort, origin)}
    return _drift(store, cohort, origin, pooled, start_win)


def _new_version_skew(store, cohort, model_spec, target_name, origin, window_days, pooled):
    """The cohort is a version (firmware=X): skew in X when X appeared after the others and the
    others, on the same days, are not drifted."""
    vf = cohort.field
    rows = store.con.execute("SELECT cohort[?], min(window_start) FROM windows WHERE window_start >= ? "
                             "AND cohort[?] IS NOT NULL GROUP BY 1 ORDER BY 2", [vf, origin, vf]).fetchall()
    seen = {r[0]: r[1] for r in rows}
    if len(seen) < 2 or seen[cohort.value] <= min(seen.values()):
        return None
    from_win = _window_of(seen[cohort.value], origin, window_days)
    others = [r for r in (pooled(vf, o, {}, from_win) for o in seen if o != cohort.value) if r is not None]
    if any(o["over_share"] >= CARRIES for o in others):
        return None
    return {"kind": "skew", "field": vf, "version": cohort.value, "appeared": format_time(seen[cohort.value]),
            "others": others,
            "message": f"skew in {vf} {cohort.value}: it appeared {format_time(seen[cohort.value])[:10]} and "
                       f"drifted; the other {vf} values on the same days are not drifted",
            "confirm": _skew_command(store, model_spec, target_name, vf, cohort.value, cohort, origin)}


def _skew_command(store, model_spec, target_name: str, vf: str, version: str, cohort, origin) -> str:
    """The `edgekit skew` run that confirms skew in `vf` `version`: with the firmware variant
    the version's devices report, else with their captures (and why)."""
    base = f"edgekit skew --target {target_name} --model {model_spec.name}"
    where = f"{cohort.field}={cohort.value}" + ("" if cohort.field == vf else f", {vf}={version}")
    captures = f"--captures DIR (DIR: captures from {where} devices)"
    if vf != "firmware":
        return f"{base} {captures}"
    variants = sorted(r[0] for r in store.con.execute(
        "SELECT DISTINCT cohort[?] FROM windows WHERE cohort[?] = ? AND cohort[?] = ? AND window_start >= ?",
        [VARIANT_FIELD, vf, version, cohort.field, cohort.value, origin]).fetchall() if r[0] is not None)
    if len(variants) == 1:
        return f"{base} --firmware-variant {variants[0]}"
    said = (f"its devices report firmware variants {', '.join(variants)}" if variants else
            f"the telemetry does not say which firmware variant {vf} {version} runs (cohort field {VARIANT_FIELD})")
    return f"{base} {captures}; {said}"


def _hardware_carrying(store, cohort, origin, pooled: Pooled, start_win) -> Optional[dict]:
    """The hardware model that alone carries the cohort's drift from start_win on (its windows
    mostly over threshold, every other hardware model's on the same days clearly not), or None."""
    from_win = start_win or 0
    values = [r[0] for r in store.con.execute(
        "SELECT DISTINCT cohort[?] FROM windows WHERE window_start >= ? AND cohort[?] IS NOT NULL ORDER BY 1",
        [HARDWARE_FIELD, origin, HARDWARE_FIELD]).fetchall()]
    pooled_by = {}
    for v in values:
        if cohort.field == HARDWARE_FIELD:   # the hardware models side by side, each whole
            res = pooled(HARDWARE_FIELD, v, {}, from_win)
        else:                                # the hardware models within the cohort
            res = pooled(cohort.field, cohort.value, {HARDWARE_FIELD: v}, from_win)
        if res is not None:
            pooled_by[v] = res
    carrying = [v for v, r in pooled_by.items() if r["over_share"] >= CARRIES]
    if len(pooled_by) < 2 or len(carrying) != 1:
        return None
    hw = carrying[0]
    others = {v: r for v, r in pooled_by.items() if v != hw}
    if any(r["over_share"] > CLEAN for r in others.values()):
        return None
    if cohort.field == HARDWARE_FIELD and hw != cohort.value:
        return None
    return {"value": hw, "carrying": pooled_by[hw], "others": others}


def _drift(store, cohort, origin, pooled: Pooled, start_win) -> dict:
    """Drift not tied to a version: in one hardware model, or in the world (module docstring)."""
    across = []
    for vf in VERSION_FIELDS:
        vals = [r[0] for r in store.con.execute(
            "SELECT DISTINCT cohort[?] FROM windows WHERE cohort[?] = ? AND window_start >= ?",
            [vf, cohort.field, cohort.value, origin]).fetchall() if r[0] is not None]
        if len(vals) > 1:
            across.append(vf)
    versions = ("across " + " and ".join(across) + " values" if across else
                "on a single firmware; not tied to a version")
    est = [w.est_accuracy for w in cohort.windows if start_win is None or w.window >= start_win]
    drop = cohort.reference_accuracy - float(np.nanmean(est)) if est else 0.0
    estimate = f"; estimated accuracy {100 * drop:.1f} points below the reference"
    hw = _hardware_carrying(store, cohort, origin, pooled, start_win)
    if hw is not None:
        within = "" if cohort.field == HARDWARE_FIELD else f" (it carries the change in {cohort.field}={cohort.value})"
        return {"kind": "drift", "scope": "hardware", "field": HARDWARE_FIELD, "value": hw["value"],
                "carrying": hw["carrying"], "others": hw["others"],
                "message": f"drift in {HARDWARE_FIELD} {hw['value']}{within}: {versions}; the other "
                           f"{HARDWARE_FIELD} values on the same days are not drifted, so it is these devices' "
                           f"sensor or hardware, not the world they see" + estimate,
                "estimated_drop_points": round(100 * drop, 2),
                "recommendation": f"inspect the sensor of the {HARDWARE_FIELD} {hw['value']} devices (e.g. a "
                                  f"wearing microphone); retraining would only hide a hardware fault"}
    action = ("retrain with data from this population" if drop > 0.02 else
              "recalibrate (or retrain) on data from this population: the outputs moved, the estimated accuracy "
              "barely did")
    return {"kind": "drift", "scope": "world",
            "message": f"world drift in {cohort.field}={cohort.value}: {versions}" + estimate,
            "estimated_drop_points": round(100 * drop, 2), "recommendation": action}
