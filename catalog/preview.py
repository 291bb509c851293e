"""A 12-lead preview of one record of a release, drawn as SVG on the server.

The first WFDB record among a release's public files is read with ``wfdb``
and laid out as on paper: three rows of four leads (I aVR V1 V4 / II aVL V2
V5 / III aVF V3 V6), 2.5 s each, on a 0.2 s x 0.5 mV grid. The SVG is cached
under ``{home}/previews`` by the header's SHA-256, since releases never change.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from html import escape
from pathlib import Path, PurePosixPath

import numpy as np

from catalog.filestore import FileStore
from catalog.records import FileRecord

log = logging.getLogger(__name__)

LAYOUT = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
PANEL_S = 2.5
PX_PER_S = 100.0  # 25 mm/s at 4 px per mm
PX_PER_MV = 40.0  # 10 mm/mV at 4 px per mm
ROW_PX = 120.0
MAX_POINTS_PER_S = 125


class PreviewUnavailable(LookupError):
    """The release has no readable public WFDB record to draw."""


def wfdb_files(files: tuple[FileRecord, ...]) -> tuple[FileRecord, list[FileRecord]]:
    """The first public WFDB header and the signal files it names.

    Raises
    ------
    PreviewUnavailable
        If there is no public header or a signal file it names is missing.
    """
    by_path = {f.path: f for f in files if not f.restricted}
    headers = sorted(p for p in by_path if p.endswith(".hea"))
    if not headers:
        raise PreviewUnavailable("no public WFDB header (.hea) in the release")
    return by_path[headers[0]], [by_path[p] for p in sorted(by_path) if p != headers[0]]


def render(files: tuple[FileRecord, ...], store: FileStore, cache_dir: Path) -> str:
    """The SVG preview of the release's first WFDB record.

    Raises
    ------
    PreviewUnavailable
        If no WFDB record can be read from the release's public files.
    """
    header, others = wfdb_files(files)
    cached = cache_dir / f"{header.sha256}.svg"
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    signals, names, fs = _read(header, others, store)
    svg = draw(signals, names, fs, PurePosixPath(header.path).stem)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".tmp")
    partial.write_text(svg, encoding="utf-8")
    partial.replace(cached)
    return svg


def _read(header: FileRecord, others: list[FileRecord], store: FileStore):
    import wfdb

    folder = PurePosixPath(header.path).parent
    text = store.path_for(header.sha256).read_text(encoding="utf-8", errors="replace")
    with tempfile.TemporaryDirectory(prefix="cardiofair-preview-") as tmp:
        record = Path(tmp) / PurePosixPath(header.path).name
        shutil.copyfile(store.path_for(header.sha256), record)
        present = set()
        for name in _signal_files(text):
            match = next((f for f in others if f.path == str(folder / name)), None)
            if match is not None and store.has(match.sha256):
                shutil.copyfile(store.path_for(match.sha256), Path(tmp) / name)
                present.add(name)
        stem = str(record.with_suffix(""))
        try:
            fields = wfdb.rdheader(stem)
            channels = _standard_channels(fields, present)
            sampto = min(fields.sig_len, int(fields.fs * PANEL_S * 4))
            data = wfdb.rdrecord(stem, sampto=sampto, channels=channels)
        except (OSError, ValueError) as exc:
            raise PreviewUnavailable(f"cannot read {header.path}: {exc}") from None
    return data.p_signal, list(data.sig_name), float(data.fs)


def _standard_channels(fields, present: set[str]) -> list[int]:
    """Channels of the standard twelve leads whose signal file is at hand.

    Raises
    ------
    PreviewUnavailable
        If none is.
    """
    standard = {lead.lower() for row in LAYOUT for lead in row}
    channels = [
        i
        for i, (file_name, lead) in enumerate(
            zip(fields.file_name, fields.sig_name, strict=True)
        )
        if file_name in present and lead.lower() in standard
    ]
    if not channels:
        raise PreviewUnavailable("the record has none of the 12 standard leads")
    return channels


def _signal_files(header_text: str) -> list[str]:
    """File names on the signal lines of a WFDB header."""
    lines = [
        line for line in header_text.splitlines() if line.strip() and line[0] != "#"
    ]
    names = []
    for line in lines[1:]:
        name = line.split()[0]
        if name not in names and re.match(r"^[\w.\-]+$", name):
            names.append(name)
    return names


def draw(signals: np.ndarray, names: list[str], fs: float, title: str) -> str:
    """The SVG of a 3 x 4 lead layout.

    Parameters
    ----------
    signals : ndarray, shape (n_samples, n_leads)
        Physical units, millivolts.
    names : list of str
        Lead names; matched case-insensitively to the standard twelve.
    fs : float
        Sampling frequency in Hz.
    """
    index = {n.lower(): i for i, n in enumerate(names)}
    width = PANEL_S * 4 * PX_PER_S
    height = ROW_PX * len(LAYOUT)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
        f'role="img" aria-labelledby="ecg-title">',
        f'<title id="ecg-title">12-lead ECG of record {escape(title)}: 2.5 s per '
        "lead, 25 mm/s, 10 mm/mV</title>",
        _grid(width, height),
    ]
    for row, leads in enumerate(LAYOUT):
        for col, lead in enumerate(leads):
            if lead.lower() not in index:
                continue
            trace = signals[:, index[lead.lower()]]
            parts.append(_trace(trace, fs, row, col, lead))
    parts.append("</svg>")
    return "\n".join(parts)


def _grid(width: float, height: float) -> str:
    minor = []
    step = PX_PER_S * 0.04 * 5  # a large square: 0.2 s
    x = 0.0
    while x <= width:
        minor.append(f"M{x:.1f} 0V{height:g}")
        x += step
    y = 0.0
    while y <= height:
        minor.append(f"M0 {y:.1f}H{width:g}")
        y += PX_PER_MV * 0.5
    return (
        f'<rect width="{width:g}" height="{height:g}" fill="#fff8f6"/>'
        f'<path d="{"".join(minor)}" stroke="#f3c4bc" stroke-width="0.6"/>'
    )


def _trace(trace: np.ndarray, fs: float, row: int, col: int, lead: str) -> str:
    start = int(col * PANEL_S * fs)
    stop = min(len(trace), int((col + 1) * PANEL_S * fs))
    segment = trace[start:stop]
    segment = segment[np.isfinite(segment)] if len(segment) else segment
    if len(segment) < 2:
        return ""
    stride = max(1, int(fs // MAX_POINTS_PER_S))
    segment = segment[::stride]
    baseline = float(np.median(segment))
    x0 = col * PANEL_S * PX_PER_S
    y0 = row * ROW_PX + ROW_PX / 2
    t = np.arange(len(segment)) * stride / fs
    xs = x0 + t * PX_PER_S
    ys = y0 - (segment - baseline) * PX_PER_MV
    ys = np.clip(ys, row * ROW_PX + 2, (row + 1) * ROW_PX - 2)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f'<text x="{x0 + 4:g}" y="{row * ROW_PX + 16:g}" font-size="13" '
        f'font-family="sans-serif" fill="#222">{escape(lead)}</text>'
        f'<polyline fill="none" stroke="#111" stroke-width="1.1" points="{points}"/>'
    )
