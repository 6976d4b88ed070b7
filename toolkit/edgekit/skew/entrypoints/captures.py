"""Entry point `captures`: tensors already produced on devices (phones, Linux boards, MCUs),
read from a captures folder (edgekit.skew.captures); nothing is built or emulated. The
samples are the folder's rows, not the test split (docs/ARCHITECTURE.md, skew)."""

from __future__ import annotations

from edgekit.skew.entrypoints import EntryPointOutput, PreprocessingEntryPoint, RawSample, register


@register("captures")
class CapturedTensors(PreprocessingEntryPoint):
    def __init__(self, context, option=None):
        """option: a captures folder, or (folder, skip_bad)."""
        from edgekit.skew.captures import load_captures

        folder, skip_bad = option if isinstance(option, tuple) else (option, False)
        super().__init__(context, str(folder))
        self.captures = load_captures(context, folder, skip_bad=skip_bad)
        self._by_id = {r.sample.id: r for r in self.captures.rows}

    @property
    def version(self) -> str:
        return str(self.captures.manifest)

    def samples(self, default):
        return [r.sample for r in self.captures.rows]

    def tensor(self, sample: RawSample) -> EntryPointOutput:
        r = self._by_id[sample.id]
        return EntryPointOutput(tensor=r.tensor, device_scores=r.output, device_prediction=r.prediction)
