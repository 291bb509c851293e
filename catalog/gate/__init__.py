"""The release gate: privacy, metadata leakage, fidelity, utility and bias.

``run_gate`` is the entry point; it returns a :class:`GateReport` whose
``passed`` decides whether a release may be published.
"""

from catalog.gate.leakage import Finding, LeakageInputError
from catalog.gate.privacy import RiskResult
from catalog.gate.report import GateReport
from catalog.gate.run import run_gate
from catalog.gate.tables import GateInputError, read_table

__all__ = [
    "Finding",
    "GateInputError",
    "GateReport",
    "LeakageInputError",
    "RiskResult",
    "read_table",
    "run_gate",
]
