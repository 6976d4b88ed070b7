"""One line per firmware of a run for the CLI and the notes: the frontend's flash, RAM and
instructions apart from the model's, and the samples a user frontend failed on (device and
host, by reason). Reads the `builds` facts of edgekit.harness.fleet (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Mapping


def _counts(d: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


def build_lines(builds: Mapping[str, Mapping]) -> list[str]:
    lines = []
    for name, b in builds.items():
        fe, ins = b.get("frontend") or {}, b.get("instructions") or {}
        parts = []
        if fe.get("flash_bytes") is not None:
            parts.append(f"frontend flash {fe['flash_bytes']:,} B and RAM {fe['ram_bytes']:,} B of the firmware's "
                         f"{b['flash_bytes']:,} B / {b['ram_bytes']:,} B (measured from link)")
        if ins.get("frontend_p50") is not None:
            share = "" if ins.get("frontend_share") is None else \
                f": the frontend is {100 * ins['frontend_share']:.1f}% of the request"
            parts.append(f"per request {ins['frontend_p50']:,.0f} frontend + {ins['model_p50']:,.0f} model "
                         f"{ins.get('unit') or 'timer units'} (median){share}")
        shown = b.get("device_preprocessing") or name
        lines.append(f"firmware {name} ({shown}): " + "; ".join(parts) if parts else f"firmware {name} ({shown})")
        dev, host = b.get("device_frontend_failures"), b.get("host_frontend_failures")
        if dev is not None or host is not None:
            n_dev, n_host = sum((dev or {}).values()), sum((host or {}).values())
            lines.append(f"  user frontend failures: {n_dev} samples on the device" +
                         (f" ({_counts(dev)})" if n_dev else "") +
                         ("" if host is None else f", {n_host} on the host" + (f" ({_counts(host)})" if n_host else "")))
    return lines
