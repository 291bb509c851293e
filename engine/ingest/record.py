"""The in-memory form of one ingested ECG record, whatever its file format."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STANDARD_LEADS = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip

_LEAD_ALIASES = {name.lower(): name for name in STANDARD_LEADS}


def standard_lead_name(name: str) -> str:
    """Return the standard 12-lead spelling of ``name``, or ``name`` unchanged.

    ``"ii"``, ``"Lead II"`` and ``"II"`` all become ``"II"``; a name outside
    the 12 standard leads (``"MLII"``, ``"vx"``, ``"ECG 1"``) is kept as is.
    """
    key = " ".join(name.strip().split()).lower()
    key = key.removesuffix(" (einthoven)").removeprefix("lead ")
    return _LEAD_ALIASES.get(key, name.strip())


@dataclass
class EcgRecord:
    """One ECG read from a source, before de-identification is written out.

    Attributes
    ----------
    origin : str
        Path of the input it came from; kept in memory for error messages only,
        never written to any output.
    signal : ndarray, shape (n_samples, n_leads)
        Physical values in millivolts; NaN where a sample was invalid.
    fs : float
        Sampling frequency in Hz.
    lead_names : list of str
        One name per column of ``signal``, standard spellings where known.
    source_format : str
        ``"wfdb"``, ``"ptbxl"`` or ``"dicom-waveform"``.
    patient_key : str
        The source's own patient key (original identifier, memory only), used
        to give records of one patient the same pseudonym.
    age_years : float or None
        Age at recording as the source gives it.
    sex : str or None
        ``"M"``, ``"F"`` or None when unknown.
    labels : tuple of str
        SCP-ECG statement codes given by the source.
    measurements : dict
        Intervals the source itself reports (``"pr_ms"``, ``"qrs_ms"``,
        ``"qt_ms"``, ``"qtc_ms"``, ``"axis_deg"``, ``"heart_rate_bpm"``).
    deid_actions : list of str
        What was removed or changed on the way in; never the values.
    """

    origin: str
    signal: np.ndarray
    fs: float
    lead_names: list[str]
    source_format: str
    patient_key: str
    age_years: float | None = None
    sex: str | None = None
    labels: tuple[str, ...] = ()
    measurements: dict[str, float] = field(default_factory=dict)
    deid_actions: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.signal.shape[0] / self.fs

    def lead(self, name: str) -> np.ndarray | None:
        """Return the samples of lead ``name`` (mV), or None if absent."""
        if name in self.lead_names:
            return self.signal[:, self.lead_names.index(name)]
        return None
