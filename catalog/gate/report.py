"""The gate's one report: JSON for machines, HTML for people.

The JSON layout (``GateReport.to_dict``), version 1::

    {
      "report_version": 1, "passed": bool, "blocked_by": [str, ...],
      "seed": int, "n_attacks": int, "thresholds": {...},
      "inputs": {"rows": {"real": n, "control": n, "synthetic": n},
                 "columns": {"numeric": [...], "categorical": [...],
                             "demographics": [...], "clinical": [...],
                             "secrets": [...]},
                 "notes": [str, ...]},
      "privacy": [{"evaluator", "target", "risk", "ci": [lo, hi],
                   "threshold", "passed", "n_attacks", "n_success",
                   "n_control", "n_baseline", "attack_rate", "control_rate",
                   "baseline_rate", "notes"}, ...],
      "leakage": {"passed": bool, "counts": {"high", "medium", "low"},
                  "findings": [{"where", "rule", "severity", "evidence",
                                "fix"}, ...]},
      "fidelity": {...}, "utility": {...}, "bias": {...},
      "measurements": [{"metric": str, "value": float}, ...],
      "summary": str, "limitations": [str, ...], "timings_s": {...}
    }

``measurements`` flattens the scores for DQV (one ``dqv:QualityMeasurement``
per entry, the metric name being stable across releases).
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from catalog.gate.leakage import HIGH, LOW, MEDIUM, Finding
from catalog.gate.privacy import RiskResult

log = logging.getLogger(__name__)

REPORT_VERSION = 1


@dataclass
class GateReport:
    """Everything the gate measured, and its verdict.

    Attributes
    ----------
    passed : bool
        True when nothing blocks the release.
    blocked_by : list of str
        One line per reason (a risk above its threshold, a high finding ...).
    privacy : list of RiskResult
    findings : list of Finding
    fidelity, utility, bias : dict
    inputs : dict
        Row counts, column roles and notes about how the inputs were used.
    thresholds : dict
    seed, n_attacks : int
    summary : str
        A paragraph for the landing page.
    limitations : list of str
        What a reader training models on the data should know.
    timings_s : dict of str to float
        Wall time per part, in seconds (not part of the verdict).
    """

    passed: bool
    blocked_by: list[str]
    privacy: list[RiskResult]
    findings: list[Finding]
    fidelity: dict
    utility: dict
    bias: dict
    inputs: dict
    thresholds: dict
    seed: int
    n_attacks: int
    summary: str = ""
    limitations: list[str] = field(default_factory=list)
    timings_s: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        counts = {s: 0 for s in (HIGH, MEDIUM, LOW)}
        for finding in self.findings:
            counts[finding.severity] += 1
        return {
            "report_version": REPORT_VERSION,
            "passed": self.passed,
            "blocked_by": self.blocked_by,
            "seed": self.seed,
            "n_attacks": self.n_attacks,
            "thresholds": self.thresholds,
            "inputs": self.inputs,
            "privacy": [r.to_dict() for r in self.privacy],
            "leakage": {
                "passed": counts[HIGH] == 0,
                "counts": counts,
                "findings": [f.to_dict() for f in self.findings],
            },
            "fidelity": self.fidelity,
            "utility": self.utility,
            "bias": self.bias,
            "measurements": self.measurements(),
            "summary": self.summary,
            "limitations": self.limitations,
            "timings_s": self.timings_s,
        }

    def measurements(self) -> list[dict[str, Any]]:
        """Scores as ``{"metric", "value"}`` pairs, for DQV in the DCAT record.

        Metric names: ``privacy/<evaluator>[/<target>]/risk`` and ``.../ci_upper``,
        ``leakage/high_findings``, ``fidelity/quality``, ``fidelity/diagnostic``,
        ``fidelity/closer_to_train``, ``utility/<label>/ratio``,
        ``bias/min_ratio``, and ``gate/passed`` (1 or 0).
        """
        out = []
        for r in self.privacy:
            name = "privacy/" + r.evaluator + (f"/{r.target}" if r.target else "")
            out.append({"metric": f"{name}/risk", "value": r.risk})
            out.append({"metric": f"{name}/ci_upper", "value": r.ci[1]})
        high = sum(1 for f in self.findings if f.severity == HIGH)
        out.append({"metric": "leakage/high_findings", "value": float(high)})
        memorisation = self.fidelity.get("memorisation") or {}
        scores = {
            "fidelity/quality": self.fidelity.get("quality"),
            "fidelity/diagnostic": self.fidelity.get("diagnostic"),
            "fidelity/closer_to_train": memorisation.get("closer_to_train"),
            "bias/min_ratio": self.bias.get("min_ratio"),
        }
        for label, u in (self.utility.get("labels") or {}).items():
            scores[f"utility/{label}/ratio"] = u.get("ratio")
        out += [{"metric": k, "value": v} for k, v in scores.items() if v is not None]
        out.append({"metric": "gate/passed", "value": 1.0 if self.passed else 0.0})
        return out

    def verdict_dict(self) -> dict[str, Any]:
        """The report without timings: equal for equal inputs and seed."""
        out = self.to_dict()
        out.pop("timings_s")
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=_plain)

    def to_html(self) -> str:
        return render_html(self)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def summarise(report: GateReport) -> tuple[str, list[str]]:
    """The landing page's summary paragraph and limitations."""
    worst = max(report.privacy, key=lambda r: r.ci[1], default=None)
    verdict = "passed" if report.passed else "was blocked by"
    parts = [f"The release gate {verdict}"]
    if not report.passed:
        parts[0] += " " + "; ".join(report.blocked_by)
    if worst is not None:
        name = worst.evaluator + (f" of {worst.target}" if worst.target else "")
        parts.append(
            f"The largest re-identification risk measured by anonymeter was "
            f"{name}: {worst.risk:.3f} (95% ci {worst.ci[0]:.3f}-{worst.ci[1]:.3f}, "
            f"{worst.n_attacks} attacks)"
        )
    quality = report.fidelity.get("quality")
    if quality is not None:
        parts.append(f"sdmetrics quality score {quality:.2f}")
    ratio = report.utility.get("min_ratio")
    if ratio is not None:
        parts.append(
            f"models trained on the synthetic rows keep {ratio:.0%} of the macro F1 "
            "of models trained on the real rows"
        )
    under = report.bias.get("under_represented") or []
    if under:
        parts.append("under-represented groups: " + ", ".join(under))
    return ". ".join(parts) + ".", _limitations(report)


def _limitations(report: GateReport) -> list[str]:
    notes = [
        "The privacy risks are estimated by simulated attacks (anonymeter) "
        "with a finite number of attacks; they bound the risk of these attacks, "
        "not of every conceivable one.",
        "Rows are synthetic: they reproduce the source's distributions, not "
        "its patients. Rare conditions and small groups are reproduced less "
        "faithfully than common ones.",
    ]
    ratio = report.utility.get("min_ratio")
    if ratio is not None and ratio < 0.9:
        notes.append(
            "A model trained on these rows scored clearly below one trained on "
            "real rows for at least one label; validate on real data before use."
        )
    under = report.bias.get("under_represented") or []
    if under:
        notes.append(
            "Under-represented relative to the source: " + ", ".join(under) + "."
        )
    notes.extend(report.inputs.get("notes", []))
    return notes


# ------------------------------------------------------------------ HTML

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
    "padding:0 1rem;color:#222}table{border-collapse:collapse;width:100%;"
    "margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}.pass{color:#176417}.block{color:#a40000}"
    ".high{background:#fde8e8}.medium{background:#fff6dd}"
)


def render_html(report: GateReport) -> str:
    """A self-contained HTML page of the report."""
    data = report.to_dict()
    e = html.escape
    status = "passed" if report.passed else "blocked"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Release gate: {status}</title><style>{_STYLE}</style></head><body>",
        f'<h1>Release gate: <span class="{"pass" if report.passed else "block"}">'
        f"{status}</span></h1>",
        f"<p>{e(report.summary)}</p>",
    ]
    if report.blocked_by:
        parts.append("<h2>Why it is blocked</h2><ul>")
        parts += [f"<li>{e(r)}</li>" for r in report.blocked_by]
        parts.append("</ul>")
    parts += _privacy_html(data["privacy"])
    parts += _findings_html(data["leakage"])
    parts += _fidelity_html(data["fidelity"], data["utility"], data["bias"])
    parts.append("<h2>Summary and limitations</h2><ul>")
    parts += [f"<li>{e(n)}</li>" for n in report.limitations]
    parts.append("</ul>")
    parts.append(
        f"<p>Seed {report.seed}; {report.n_attacks} attacks requested per "
        f"evaluator; rows: {e(json.dumps(data['inputs']['rows']))}.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _privacy_html(privacy: list[dict]) -> list[str]:
    rows = [
        "<h2>Re-identification risk (anonymeter)</h2><table><tr><th>attack</th>"
        "<th>risk</th><th>95% ci</th><th>threshold</th><th>attacks</th>"
        "<th>success ori / control / baseline</th><th></th></tr>"
    ]
    for r in privacy:
        name = r["evaluator"] + (f" ({r['target']})" if r["target"] else "")
        verdict = "pass" if r["passed"] else "block"
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{r['risk']:.3f}</td>"
            f"<td>{r['ci'][0]:.3f}-{r['ci'][1]:.3f}</td><td>{r['threshold']}</td>"
            f"<td>{r['n_attacks']}</td><td>{r['n_success']} / {r['n_control']} / "
            f'{r["n_baseline"]}</td><td class="{verdict}">{verdict}</td></tr>'
        )
    rows.append("</table>")
    return rows


def _findings_html(leakage: dict) -> list[str]:
    counts = leakage["counts"]
    out = [
        f"<h2>Metadata leakage</h2><p>{counts['high']} high, {counts['medium']} "
        f"medium, {counts['low']} low findings.</p>"
    ]
    if leakage["findings"]:
        out.append(
            "<table><tr><th>where</th><th>rule</th><th>severity</th>"
            "<th>evidence</th><th>fix</th></tr>"
        )
        for f in leakage["findings"]:
            cells = "".join(
                f"<td>{html.escape(str(f[k]))}</td>"
                for k in ("where", "rule", "severity", "evidence", "fix")
            )
            out.append(f'<tr class="{f["severity"]}">{cells}</tr>')
        out.append("</table>")
    return out


def _fidelity_html(fidelity: dict, utility: dict, bias: dict) -> list[str]:
    e = html.escape
    out = ["<h2>Fidelity, utility and bias</h2><ul>"]
    if fidelity:
        mem = fidelity.get("memorisation", {})
        out.append(
            f"<li>sdmetrics quality {_fmt(fidelity.get('quality'))} (column shapes "
            f"{_fmt(fidelity.get('column_shapes'))}, pair trends "
            f"{_fmt(fidelity.get('column_pair_trends'))}); diagnostic "
            f"{_fmt(fidelity.get('diagnostic'))}</li>"
        )
        out.append(
            f"<li>share of synthetic rows closer to a training row than to a "
            f"control row: {_fmt(mem.get('closer_to_train'))} (0.5 expected)</li>"
        )
    for label, u in (utility.get("labels") or {}).items():
        out.append(
            f"<li>{e(label)}: macro F1 trained on synthetic {_fmt(u['tstr_f1'])}, "
            f"on real {_fmt(u['trtr_f1'])} (tested on control)</li>"
        )
    if bias.get("under_represented"):
        out.append("<li>under-represented: " + e(", ".join(bias["under_represented"])))
    out.append("</ul>")
    return out


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
