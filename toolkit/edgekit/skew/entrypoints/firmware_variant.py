"""Entry point `firmware-variant`: edgekit's generated C frontend for a variant of
models/<m>/firmware_variants.yaml, compiled for the host (the same sources the firmware
runs, edgekit.frontends.host), so its tensors are the device's (docs/ARCHITECTURE.md, skew)."""

from __future__ import annotations

from edgekit.skew.entrypoints import EntryPointOutput, PreprocessingEntryPoint, RawSample, register


@register("firmware-variant", on_device=True)
class FirmwareVariant(PreprocessingEntryPoint):
    def __init__(self, context, option=None, *, skip_bad: bool = False):
        from edgekit.frontends import get_variant

        super().__init__(context, option or "default", skip_bad=skip_bad)
        self.variant = get_variant(context.spec, self.option)  # UserError naming the known variants
        self._host = None

    def _frontend(self):
        """Compiled on first use: the frontend bakes in the model's input quantization."""
        if self._host is None:
            from edgekit.frontends import build_host
            from edgekit.frontends.codegen import InputQuant

            q = self.context.input_quant
            self._host = build_host(self.context.spec, self.variant, InputQuant(float(q.scale), int(q.zero_point)))
        return self._host

    def tensor(self, sample: RawSample) -> EntryPointOutput:
        try:
            return EntryPointOutput(tensor=self._frontend().run(sample.raw))
        except ValueError as exc:  # the frontend refused this raw input (size, format)
            return EntryPointOutput(failure=str(exc))
