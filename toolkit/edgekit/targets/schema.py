"""The schema of a target profile (targets/*.yaml).

Units are in the field names: _kb is KiB (1024 bytes), _mhz, _ms, _uj, _mw, _ua, _hz.
Every model forbids unknown keys, so a typo is an error, not a silently ignored field.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgekit.targets import kernel_variants

CoreFeature = Literal["dsp", "fpu", "mve", "mve-f"]
KernelVariant = Literal[kernel_variants.NAMES]  # the table in targets/kernel_variants.py


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Strict):
    name: str = Field(description="the part or board this profile stands for, e.g. nRF52840")
    vendor: str
    datasheet: str = Field(description="the document the numbers in this profile come from")


class Core(_Strict):
    cpu: Literal["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]
    arch: str = Field(description="e.g. armv7e-m, armv8-m.main, armv8.1-m.main")
    features: list[CoreFeature] = []
    fpu: Optional[str] = Field(None, description="gcc -mfpu value, e.g. fpv4-sp-d16")
    float_abi: Literal["soft", "softfp", "hard"] = "soft"
    clock_mhz: float = Field(gt=0)
    cpi: float = Field(
        1.0,
        gt=0,
        description="estimated cycles per instruction, to turn an emulator's instruction "
        "count into a latency estimate",
    )
    flash_wait_states: int = Field(
        0, ge=0, description="the part's flash wait states at clock_mhz (its reference manual), for the "
        "cycle estimate from the executed instruction mix (edgekit.cycles)")
    flash_accelerator: bool = Field(
        True, description="an instruction cache or prefetch accelerator (ART, ICACHE) sits in front of the "
        "flash, so hot loops fetch without wait states")


class Npu(_Strict):
    kind: Literal["ethos-u55", "ethos-u65", "hexagon-htp"]
    macs_per_cycle: int = Field(gt=0)
    clock_mhz: float = Field(gt=0)
    # Ethos-U (Vela) settings
    vela_accelerator: Optional[str] = Field(None, description="vela --accelerator-config")
    vela_system_config: Optional[str] = None
    vela_memory_mode: Optional[str] = None
    # Hexagon HTP (QNN) settings
    socs: list[str] = Field([], description="SoC model names to compile context binaries for")
    activation_type: Optional[Literal["uint8", "int8", "uint16", "int16"]] = None
    weight_type: Optional[Literal["uint8", "int8"]] = None
    dram_bandwidth_gbps: Optional[float] = Field(None, gt=0)


class Memory(_Strict):
    flash_kb: float = Field(gt=0, description="non-volatile memory for code and weights")
    ram_kb: float = Field(gt=0, description="SRAM")
    app_flash_kb: float = Field(0, ge=0, description="flash kept by the application besides the model")
    app_ram_kb: float = Field(0, ge=0, description="RAM kept by the application besides the model")
    stack_kb: float = Field(0, ge=0, description="stack reserved for the inference thread")


class Runtime(_Strict):
    # A registered runtime backend (edgekit.runtimes); what it needs of the rest of the
    # profile (an NPU, a core) is checked by the backend, see edgekit.runtimes.backend_for.
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="e.g. edgekit-micro, vela, onnxruntime-qnn")
    kernels: KernelVariant = "reference"
    activations: list[Literal["int8", "int16"]] = ["int8"]


class Emulator(_Strict):
    kind: Literal["qemu", "qnn-htp", "none"]
    machine: Optional[str] = Field(None, description="qemu -machine, e.g. mps2-an386")
    cpu: Optional[str] = Field(None, description="qemu -cpu, e.g. cortex-m4")
    ram_kb: Optional[float] = Field(None, gt=0, description="RAM the emulated board has, if it differs")


class Flasher(_Strict):
    kind: Literal["pyocd", "platformio", "command", "none"]
    target: Optional[str] = Field(None, description="pyocd target name, or PlatformIO board id")
    command: list[str] = Field([], description="argument list; {elf} and {hex} are replaced")


class Energy(_Strict):
    supply_v: float = Field(gt=0)
    active_ua_per_mhz: Optional[float] = Field(None, gt=0, description="core running, per MHz")
    active_mw: Optional[float] = Field(None, gt=0, description="accelerator active power")
    sleep_ua: float = Field(ge=0, description="between inferences, RAM retained")
    source: str = Field(description="which datasheet figures these are")

    @model_validator(mode="after")
    def _one_active_figure(self):
        if self.active_ua_per_mhz is None and self.active_mw is None:
            raise ValueError("give active_ua_per_mhz (MCU) or active_mw (accelerator)")
        return self

    def active_power_mw(self, clock_mhz: float) -> float:
        if self.active_mw is not None:
            return self.active_mw
        return self.active_ua_per_mhz * clock_mhz * self.supply_v / 1000.0

    def sleep_power_mw(self) -> float:
        return self.sleep_ua * self.supply_v / 1000.0


class Budgets(_Strict):
    flash_kb: float = Field(gt=0)
    ram_kb: float = Field(gt=0)
    latency_p99_ms: float = Field(gt=0)
    energy_per_inference_uj: float = Field(gt=0)
    average_power_mw: float = Field(gt=0)
    inference_rate_hz: float = Field(gt=0, description="the duty cycle the average power is for")


class TargetProfile(_Strict):
    name: str
    description: str
    extends: Optional[str] = None
    part: Part
    core: Optional[Core] = Field(None, description="the CPU that runs the model; absent for a phone NPU")
    npu: Optional[Npu] = None
    memory: Memory
    runtime: Runtime
    emulator: Emulator
    flasher: Flasher
    energy: Energy
    budgets: Budgets

    @model_validator(mode="after")
    def _consistent(self):
        mem, b = self.memory, self.budgets
        flash_left = mem.flash_kb - mem.app_flash_kb
        ram_left = mem.ram_kb - mem.app_ram_kb - mem.stack_kb
        if b.flash_kb > flash_left:
            raise _FieldError(
                "budgets.flash_kb",
                f"budget {b.flash_kb:g} KB is larger than the {flash_left:g} KB of flash left "
                f"after the application (memory.flash_kb - memory.app_flash_kb)",
            )
        if b.ram_kb > ram_left:
            raise _FieldError(
                "budgets.ram_kb",
                f"budget {b.ram_kb:g} KB is larger than the {ram_left:g} KB of RAM left after "
                f"the application and stack (memory.ram_kb - app_ram_kb - stack_kb)",
            )
        if self.core is None:  # whether the runtime may go without one: its backend says
            return self
        need = kernel_variants.get(self.runtime.kernels).feature
        if need is not None and need not in self.core.features:
            raise _FieldError("runtime.kernels", f"'{self.runtime.kernels}' kernels need '{need}' in core.features")
        if self.emulator.kind == "qemu" and not (self.emulator.machine and self.emulator.cpu):
            raise _FieldError("emulator", "a qemu emulator needs 'machine' and 'cpu'")
        return self

    # Derived figures used by budgets and reports.
    @property
    def clock_mhz(self) -> float:
        return self.core.clock_mhz if self.core is not None else self.npu.clock_mhz

    def active_power_mw(self) -> float:
        return self.energy.active_power_mw(self.clock_mhz)


class _FieldError(ValueError):
    """A cross-field problem that belongs to one named field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
