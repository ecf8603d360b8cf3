"""FPGA parts and their resource totals (LUT, FF, DSP, BRAM_18K).

Totals are the vendors' product tables: DS962 (Alveo U250 data sheet; the card's
XCU250 equals a VU13P), DS890 (UltraScale Architecture and Product Data Sheet: Overview, for
the Virtex/Kintex UltraScale(+) parts), DS891 (Zynq UltraScale+ MPSoC overview) and DS190
(Zynq-7000 overview). BRAM_18K counts 18 Kib halves (two per 36 Kib block), as the Vivado HLS
report does. A part not listed here is an error; pass a :class:`Device` with its totals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Device:
    """The resources of one FPGA.

    Parameters
    ----------
    lut, ff, dsp, bram_18k : totals of the part.
    name : the part name (free text for a custom device).
    dsp_slice : ``"DSP48E2"`` (UltraScale/UltraScale+, 27 x 18) or ``"DSP48E1"`` (7 series, 25 x 18).
    """

    lut: int
    ff: int
    dsp: int
    bram_18k: int
    name: str = "custom"
    dsp_slice: str = "DSP48E2"

    def __post_init__(self):
        for key in ("lut", "ff", "dsp", "bram_18k"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Device {key} must be a non-negative integer, got {value!r}")
        if self.dsp_slice not in ("DSP48E2", "DSP48E1"):
            raise ValueError(f"Device dsp_slice must be 'DSP48E2' or 'DSP48E1', got {self.dsp_slice!r}")

    def to_dict(self) -> dict:
        return asdict(self)


_ULTRASCALE_PLUS_13P = dict(lut=1_728_000, ff=3_456_000, dsp=12_288, bram_18k=5_376)

#: Known parts (lower-case names, as hls4ml and Vivado spell them).
PARTS: dict[str, Device] = {
    "xcu250-figd2104-2l-e": Device(**_ULTRASCALE_PLUS_13P, name="xcu250-figd2104-2L-e"),
    "xcvu13p-flga2577-2-e": Device(**_ULTRASCALE_PLUS_13P, name="xcvu13p-flga2577-2-e"),
    "xcvu9p-flga2104-2l-e": Device(lut=1_182_240, ff=2_364_480, dsp=6_840, bram_18k=4_320,
                                   name="xcvu9p-flga2104-2L-e"),
    "xcku115-flvb2104-2-e": Device(lut=663_360, ff=1_326_720, dsp=5_520, bram_18k=4_320,
                                   name="xcku115-flvb2104-2-e"),
    "xczu9eg-ffvb1156-2-e": Device(lut=274_080, ff=548_160, dsp=2_520, bram_18k=1_824,
                                   name="xczu9eg-ffvb1156-2-e"),
    "xc7z020clg400-1": Device(lut=53_200, ff=106_400, dsp=220, bram_18k=280, name="xc7z020clg400-1",
                              dsp_slice="DSP48E1"),
}


def get_device(part: str | None = None, device: Device | dict | None = None) -> Device:
    """The :class:`Device` of ``part``, or ``device`` itself when given.

    Raises
    ------
    ValueError : ``part`` is not a known part and no ``device`` was given; the message names
        the known parts and how to give the resources.
    """
    if device is not None:
        if isinstance(device, dict):
            device = Device(**device)
        if not isinstance(device, Device):
            raise ValueError(f"device must be a fxsim.cost.Device or a dict of its fields, got {type(device).__name__}")
        return device
    if not isinstance(part, str) or not part.strip():
        raise ValueError(f"part must be a part name such as 'xcu250-figd2104-2L-e', got {part!r}")
    try:
        return PARTS[part.strip().lower()]
    except KeyError:
        known = ", ".join(d.name for d in PARTS.values())
        raise ValueError(
            f"unknown FPGA part {part!r}: fxsim knows {known}. For another device give its resources: "
            "fxsim.estimate(..., device=fxsim.cost.Device(lut=..., ff=..., dsp=..., bram_18k=..., name=...)) "
            "or on the command line --device-resources LUT,FF,DSP,BRAM_18K"
        ) from None


def parse_resources(text: str, name: str = "custom") -> Device:
    """``"LUT,FF,DSP,BRAM_18K"`` (the command line's ``--device-resources``) as a :class:`Device`."""
    parts = [p.strip().replace("_", "") for p in str(text).split(",")]
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"--device-resources wants four non-negative integers LUT,FF,DSP,BRAM_18K, got {text!r}")
    lut, ff, dsp, bram = (int(p) for p in parts)
    return Device(lut=lut, ff=ff, dsp=dsp, bram_18k=bram, name=name)
