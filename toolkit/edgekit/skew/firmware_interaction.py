"""The interaction with quantization for firmware frontends (docs/ARCHITECTURE.md, skew):
the device's preprocessing is the firmware's C frontend, whose host build (the same sources:
a generated variant or the user's C) gives the tensors the device computed, so the paired
2x2 of float/int8 x reference/firmware preprocessing runs on the host through
edgekit.skew.host (each sample through its own cohort's firmware) and joins the
decomposition: per cohort the preprocessing effect in int8 and in float, their difference,
and the share of inputs past the int8 input range."""

from __future__ import annotations

from typing import Mapping, Sequence

from edgekit.skew.entrypoints import EntryPointOutput, PreprocessingEntryPoint, RawSample

KEYS = ("preprocessing_int8", "preprocessing_float", "interaction", "saturation")


class _CohortFrontends(PreprocessingEntryPoint):
    """Not registered: each sample through the host build of the firmware its cohort runs."""

    name = "firmware"
    on_device = True

    def __init__(self, context, variant_of: Mapping[str, str], user_frontends: Mapping):
        super().__init__(context, "per-cohort firmware")
        self.variant_of, self.user_frontends, self.hosts = variant_of, user_frontends, {}

    def tensor(self, sample: RawSample) -> EntryPointOutput:
        from edgekit.frontends.codegen import InputQuant
        from edgekit.skew.firmware_diagnosis import _host

        variant = self.variant_of[sample.id]
        if variant not in self.hosts:
            q = self.context.input_quant
            self.hosts[variant] = _host(self.context.spec, InputQuant(float(q.scale), int(q.zero_point)), variant,
                                        self.user_frontends)
        try:
            return EntryPointOutput(tensor=self.hosts[variant].run(sample.raw))
        except Exception as exc:  # noqa: BLE001 - a frontend's failure on one sample (counted, the run goes on)
            return EntryPointOutput(failure=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        for h in self.hosts.values():
            close = getattr(h, "close", None)
            if close:
                close()


def add_interaction(spec, target, tflite, decomposition: Sequence[dict], chosen: Sequence, variant_of: Mapping,
                    fields: Sequence[str], firmware_field: str, several: bool, user_frontends: Mapping,
                    max_cohort_drop: float, progress=None) -> None:
    """Adds "host_2x2" ({preprocessing_int8, preprocessing_float, interaction, saturation})
    to each decomposition row; chosen: the SampleRecords the device ran."""
    from edgekit import data
    from edgekit.skew.host import context_for, run_entry_point

    ctx = context_for(spec, tflite)
    samples = [RawSample(r.id, data.load_raw(spec, r),
                         {**r.cohort, firmware_field: variant_of[r.id]} if several else dict(r.cohort), int(r.label))
               for r in chosen if r.id in variant_of]
    res = run_entry_point(spec, target, _CohortFrontends(ctx, variant_of, user_frontends), tflite, samples,
                          max_cohort_drop=max_cohort_drop, progress=progress, cohort_fields=fields, section=None)
    by_key = {(c["field"], c["value"]): c for c in res.cohorts}
    for d in decomposition:
        c = by_key.get((d["field"], d["value"]))
        d["host_2x2"] = {k: c[k] for k in KEYS} if c else None
