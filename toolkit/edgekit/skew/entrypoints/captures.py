"""Entry point `captures`: tensors already produced on devices (phones, Linux boards, MCUs),
read from a captures folder (edgekit.skew.captures); nothing is built or emulated. The
samples are the folder's rows, not the test split (docs/ARCHITECTURE.md, skew)."""

from __future__ import annotations

from edgekit.skew.entrypoints import EntryPointOutput, PreprocessingEntryPoint, RawSample, register


@register("captures")
class CapturedTensors(PreprocessingEntryPoint):
    provides_samples = True

    def __init__(self, context, option=None, *, skip_bad: bool = False):
        """option: a captures folder."""
        from edgekit.skew.captures import load_captures

        super().__init__(context, str(option), skip_bad=skip_bad)
        self.captures = load_captures(context, option, skip_bad=skip_bad)
        self.cohort_fields = self.captures.cohort_fields
        self.skipped = [{"where": b.where, "id": b.id, "problem": b.problem} for b in self.captures.skipped]
        self._by_id = {r.sample.id: r for r in self.captures.rows}

    @property
    def version(self) -> str:
        return str(self.captures.manifest)

    def samples(self, default):
        return [r.sample for r in self.captures.rows]

    def tensor(self, sample: RawSample) -> EntryPointOutput:
        r = self._by_id[sample.id]
        return EntryPointOutput(tensor=r.tensor, device_scores=r.output, device_prediction=r.prediction)
