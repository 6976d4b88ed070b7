"""Example pictures for `edgekit skew`: the reference model input next to the firmware
frontend's (images side by side, MFCCs as heatmaps) and their difference in int8 steps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

def example_pictures(spec, quant, ids: Sequence[str], variant_of: Mapping[str, str], recs_by_id: Mapping,
                      out_dir: Path, user_frontends: Mapping = {}) -> list[Path]:
    """Reference model input next to the firmware frontend's, for a few samples (images side
    by side; MFCCs as heatmaps): what the model saw in training vs on this firmware.
    user_frontends: firmware label -> UserCFrontend (CohortFirmwareMap.frontends); a sample
    such a frontend fails on gets no picture."""
    if not ids:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgekit import data
    from edgekit.frontends import build_host, get_variant, reference_int8

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    host: dict[str, object] = {}
    for sid in ids:
        rec, variant = recs_by_id[sid], variant_of[sid]
        if variant not in host:
            if variant in user_frontends:
                from edgekit.frontends.user_c import build_host_frontend

                host[variant] = build_host_frontend(user_frontends[variant], spec, quant)
            else:
                host[variant] = build_host(spec, get_variant(spec, variant), quant)
        raw = data.load_raw(spec, rec)
        ref = reference_int8(spec.preprocessing, raw, quant).astype(np.int16)
        from edgekit.frontends.user_c import FrontendSampleError

        try:
            dev = host[variant].run(raw).astype(np.int16)
        except FrontendSampleError:
            continue
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
        if spec.preprocessing.kind == "mfcc":
            for ax, arr, title in ((axes[0], ref, "reference (training)"), (axes[1], dev, f"firmware: {variant}")):
                ax.imshow(arr[..., 0].T, aspect="auto", origin="lower", vmin=-128, vmax=127, cmap="magma")
                ax.set_title(title, fontsize=9)
                ax.set_xlabel("frame")
            axes[0].set_ylabel("coefficient")
        else:
            for ax, arr, title in ((axes[0], ref, "reference (training)"), (axes[1], dev, f"firmware: {variant}")):
                ax.imshow(((arr - quant.zero_point) * quant.scale * 0.5 + 0.5).clip(0, 1).astype(np.float32)
                          if arr.shape[-1] == 3 else arr[..., 0], interpolation="nearest")
                ax.set_title(title, fontsize=9)
                ax.axis("off")
        diff = np.abs(ref - dev)
        im = axes[2].imshow(diff.max(axis=-1).T if spec.preprocessing.kind == "mfcc" else diff.max(axis=-1),
                            aspect="auto", origin="lower" if spec.preprocessing.kind == "mfcc" else "upper",
                            cmap="viridis")
        axes[2].set_title(f"|difference| (int8 steps), max {int(diff.max())}", fontsize=9)
        fig.colorbar(im, ax=axes[2])
        shown = [f"{k}={rec.cohort[k]}" for k in spec.cohort_fields if k in rec.cohort]
        fig.suptitle(f"{sid} ({', '.join(shown)}): label {spec.labels[rec.label]}", fontsize=9)
        fig.tight_layout()
        p = out_dir / f"{sid.replace('/', '_')}.png"
        tmp = p.with_suffix(".tmp.png")
        fig.savefig(tmp, dpi=80)
        plt.close(fig)
        os.replace(tmp, p)
        paths.append(p)
    return paths
