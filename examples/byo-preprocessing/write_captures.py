"""Write a captures folder the way a fleet would hand one over: for test-split samples of a
reference model, the raw input, the model-input tensor an app's preprocessing produced
(through FILE.py:FUNCTION, e.g. camera_pipeline.py:app_v2), optionally the device's output
scores, and the cohort fields, in manifest.csv. Then:

    python write_captures.py --model mobilenetv2 --pipeline camera_pipeline.py:app_v2 --out caps --per-cohort 100
    edgekit skew --captures caps --model mobilenetv2 --target snapdragon-htp

--int8 saves the tensors quantized with the model's input scale (as an int8 app would),
--no-labels leaves the label column out (the flip rate then stands in for accuracy), and
--outputs-target T adds each sample's output scores from T's int8 model on LiteRT's
reference kernels, run on the captured tensor (the device's numerics stand-in).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np


def _write_raw(folder: Path, name: str, raw: np.ndarray) -> str:
    """The raw input as the device received it: a 16-bit WAV for audio, a PNG for images."""
    folder.mkdir(parents=True, exist_ok=True)
    if raw.ndim == 1:
        import wave

        with wave.open(str(folder / f"{name}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(raw.astype("<i2").tobytes())
        return f"{name}.wav"
    from PIL import Image

    Image.fromarray(raw).save(folder / f"{name}.png")
    return f"{name}.png"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--pipeline", required=True, help="FILE.py:FUNCTION, raw (+cohort) -> model input")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--per-cohort", type=int, default=100, help="samples per value of the model's first cohort field")
    ap.add_argument("--int8", action="store_true", help="save int8 tensors (needs --outputs-target for the scale)")
    ap.add_argument("--no-labels", action="store_true")
    ap.add_argument("--outputs-target", default=None, help="add device output scores from this target's int8 model")
    args = ap.parse_args(argv)

    from edgekit.models import load_model
    from edgekit.skew.entrypoints import EntryPointContext, entry_point
    from edgekit.skew.host import dataset_samples

    spec = load_model(args.model)
    quant, tflite = None, None
    if args.outputs_target or args.int8:
        from edgekit.convert import int8_model
        from edgekit.skew.host import input_quant
        from edgekit.targets import load_target

        if not args.outputs_target:
            ap.error("--int8 needs --outputs-target T (the target whose int8 model gives the input scale)")
        tflite = int8_model(spec, load_target(args.outputs_target))
        quant = input_quant(tflite)
    pipe = entry_point("python", EntryPointContext(spec, quant), args.pipeline)
    samples = dataset_samples(spec, args.per_cohort)
    out = args.out
    (out / "tensors").mkdir(parents=True, exist_ok=True)
    fields = list(spec.cohort_fields)
    rows, tensors = [], []
    for s in samples:
        o = pipe.tensor(s)
        if o.tensor is None:
            print(f"{s.id}: {o.failure}; left out", file=sys.stderr)
            continue
        t = o.tensor if quant is None or not args.int8 else quant.quantize(o.tensor)
        name = s.id.replace("/", "_")
        np.save(out / "tensors" / f"{name}.npy", t)
        raw_name = _write_raw(out / "raw", name, s.raw)
        row = {"id": s.id, "raw": f"raw/{raw_name}", "tensor": f"tensors/{name}.npy"}
        if not args.no_labels:
            row["label"] = spec.labels[s.label]
        row.update({f: s.cohort.get(f, "") for f in fields})
        rows.append(row)
        tensors.append(t)
    if tflite is not None:
        from edgekit import interpreters

        xq = np.stack([t if t.dtype == np.int8 else quant.quantize(t) for t in tensors])
        scores = interpreters.run_litert_ref(tflite, xq).reshape(len(xq), -1)
        for row, sc in zip(rows, scores):
            np.save(out / row["tensor"].replace(".npy", ".out.npy"), sc)
            row["output"] = row["tensor"].replace(".npy", ".out.npy")
    columns = ["id", "raw", "tensor"] + (["output"] if tflite is not None else []) + \
              ([] if args.no_labels else ["label"]) + fields
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} captures to {out}/manifest.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
