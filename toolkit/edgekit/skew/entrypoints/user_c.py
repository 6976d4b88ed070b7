"""Entry point `user_c`: the user's own C frontend (firmware/frontends/include/ek_user_frontend.h),
compiled for the host and run per sample in a worker subprocess (edgekit.frontends.user_c):
the same sources the firmware links, so its tensors are the device's. A crash, an overrun of
the output tensor or a call past the time limit is that sample's failure, with its reason
(docs/ARCHITECTURE.md, skew).

The option is an edgekit.frontends.user_c.UserCFrontend, or `FILE.c[,FILE.c...]`."""

from __future__ import annotations

from edgekit.skew.entrypoints import EntryPointOutput, PreprocessingEntryPoint, RawSample, register


@register("user_c", on_device=True)
class UserC(PreprocessingEntryPoint):
    def __init__(self, context, option=None, *, skip_bad: bool = False):
        from edgekit.frontends.codegen import InputQuant
        from edgekit.frontends.user_c import UserCFrontend, build_host_frontend

        fe = option if isinstance(option, UserCFrontend) else UserCFrontend.from_options(option or "")
        super().__init__(context, fe, skip_bad=skip_bad)
        q = context.input_quant
        self._host = build_host_frontend(fe, context.spec, InputQuant(float(q.scale), int(q.zero_point)))

    @property
    def version(self) -> str:
        return f"{self._host.name.removeprefix('user:')} ({self.option.label}, sha256 {self.option.content_hash()[:12]})"

    def tensor(self, sample: RawSample) -> EntryPointOutput:
        from edgekit.frontends.user_c import FrontendSampleError

        try:
            return EntryPointOutput(tensor=self._host.run(sample.raw))
        except FrontendSampleError as exc:
            return EntryPointOutput(failure=f"{exc.reason}: {exc.detail}")
        except ValueError as exc:  # the raw input does not fit the raw format
            return EntryPointOutput(failure=str(exc))

    def close(self) -> None:
        self._host.close()

    def describe(self) -> dict:
        return {**super().describe(), "frontend": self.option.describe(),
                "failures": dict(self._host.failures)}
