"""The doctor's findings: one :class:`Finding` per problem, a :class:`Diagnosis` of them, and the refusal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem the doctor found.

    Attributes
    ----------
    code : short stable identifier, e.g. ``"lstm-types-differ"``.
    severity : ``"error"``, ``"warning"`` or ``"info"``.
    layer : the layer concerned (Keras/hls4ml name), or ``"model"``.
    what : what hls4ml / the hardware will do.
    fix : how to get what the model intends.
    details : numbers behind the finding (JSON-able).
    """

    code: str
    severity: str
    layer: str
    what: str
    fix: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def __str__(self) -> str:
        return f"[{self.severity}] {self.layer}: {self.what}\n    fix: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


class Diagnosis:
    """The doctor's findings, most severe first; iterable, printable, JSON-able."""

    def __init__(self, findings: Iterable[Finding] = ()):
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self.findings = sorted(findings, key=lambda f: order[f.severity])

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __getitem__(self, i: int) -> Finding:
        return self.findings[i]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """No errors: hls4ml builds a well-defined design."""
        return not self.errors

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def to_list(self) -> list[dict]:
        return [f.to_dict() for f in self.findings]

    def __str__(self) -> str:
        if not self.findings:
            return "conversion doctor: no findings"
        counts = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s in SEVERITIES
                           if (n := sum(f.severity == s for f in self.findings)))
        return "\n".join([f"conversion doctor: {counts}"] + [str(f) for f in self.findings])

    def __repr__(self) -> str:
        return f"Diagnosis({self.codes()})"


class ConversionRefused(ValueError):
    """The hardware for this model is undefined or cannot be built; carries the findings."""

    def __init__(self, diagnosis: Diagnosis):
        self.diagnosis = diagnosis
        lines = [f"fxsim refuses to emulate: hls4ml 1.3.0 cannot build a well-defined design "
                 f"({len(diagnosis.errors)} error{'s' if len(diagnosis.errors) != 1 else ''})"]
        lines += [str(f) for f in diagnosis.errors]
        super().__init__("\n".join(lines))
