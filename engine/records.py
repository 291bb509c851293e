"""One virtual patient's files: a WFDB record with its ground-truth annotations.

A record is 12 leads at the spec's sampling rate in WFDB format 16 (16-bit
two's complement) with a gain of 1000 units per mV (1 uV resolution, range
+-32.767 mV), so the stored signal equals the engine's within half a uV.
Header comments carry synthetic labels only. Annotations (``.atr``) hold the
fiducials the simulation itself produced, in the WFDB waveform convention:
``(`` an onset and ``)`` an offset, with ``num`` 0 for P, 1 for QRS and 2 for
T; a beat label (``N`` or ``V``) at the largest QRS deflection; a rhythm
label ``+`` with aux note ``(AFIB`` or ``(N`` at the first sample.
"""

from __future__ import annotations

import logging

import numpy as np

from engine.cohort.measure import LEADS, Simulated

log = logging.getLogger(__name__)

ADC_GAIN_PER_MV = 1000.0
ADC_LIMIT = 32767
WAVE_NUM = {"p": 0, "qrs": 1, "t": 2}


def record_folder(index: int) -> str:
    """Sub-folder of patient ``index``: ``records/00000`` for the first 1000."""
    return f"records/{index // 1000 * 1000:05d}"


def digitise(signal_mv: np.ndarray) -> np.ndarray:
    """Physical signal in mV to 16-bit WFDB units, saturating at the limits.

    Parameters
    ----------
    signal_mv : ndarray, shape (n_samples, 12)

    Returns
    -------
    ndarray of int16, same shape; round(mV * 1000) clipped to +-32767.
    """
    digital = np.rint(np.asarray(signal_mv, dtype=float) * ADC_GAIN_PER_MV)
    return np.clip(digital, -ADC_LIMIT, ADC_LIMIT).astype(np.int16)


def header_comments(labels: str, engine_version: str) -> list:
    """The synthetic record's header comments: its labels and the generator.

    Demographics stay out of file headers, where no privacy evaluator looks:
    they are published, if at all, in the feature table the gate checks.
    """
    return [
        "synthetic: virtual patient simulated by the cardiofair engine "
        f"{engine_version}",
        f"labels: {labels}",
    ]


def _annotations(sim: Simulated) -> tuple[np.ndarray, list, np.ndarray]:
    f = sim.fiducials
    magnitude = np.sqrt((sim.signal**2).sum(axis=1))
    items = []
    for beat, kind in enumerate(sim.beat_types):
        for name, wave, symbol in (
            ("p_onset", "p", "("), ("p_offset", "p", ")"),
            ("qrs_onset", "qrs", "("), ("qrs_offset", "qrs", ")"),
            ("t_end", "t", ")"),
        ):  # fmt: skip
            sample = int(f[name][beat])
            if sample >= 0:
                items.append((sample, symbol, WAVE_NUM[wave]))
        on, off = int(f["qrs_onset"][beat]), int(f["qrs_offset"][beat])
        if 0 <= on < off:
            peak = on + int(np.argmax(magnitude[on : off + 1]))
            items.append((peak, str(kind), 0))
    items.sort(key=lambda item: item[0])
    samples = np.array([item[0] for item in items], dtype=np.int64)
    symbols = [item[1] for item in items]
    nums = np.array([item[2] for item in items], dtype=np.int64)
    return samples, symbols, nums


def header_text(name: str, digital: np.ndarray, fs: int, comments: list[str]) -> str:
    """The WFDB header of a format-16 record of the 12 standard leads.

    Each signal line gives the file, format 16, the gain in units per mV with
    baseline 0, 16-bit resolution, the first sample and the 16-bit checksum.
    """
    n_samples = digital.shape[0]
    lines = [f"{name} {len(LEADS)} {fs} {n_samples}"]
    sums = digital.astype(np.int64).sum(axis=0)
    checksums = (sums + 32768) % 65536 - 32768
    for j, lead in enumerate(LEADS):
        first = int(digital[0, j]) if n_samples else 0
        lines.append(
            f"{name}.dat 16 {ADC_GAIN_PER_MV}(0)/mV 16 0 {first} "
            f"{int(checksums[j])} 0 {lead}"
        )
    lines.extend(f"# {comment}" for comment in comments)
    return "\n".join(lines) + "\n"


# MIT annotation codes and pseudo-annotation types (WFDB ecgcodes.h).
_CODES = {"N": 1, "V": 5, "+": 28, "(": 39, ")": 40}
_SKIP, _NUM, _AUX = 59, 60, 63


def _word(kind: int, value: int) -> bytes:
    return ((kind << 10) | (value & 0x3FF)).to_bytes(2, "little")


def annotation_bytes(
    samples: np.ndarray, symbols: list[str], nums: np.ndarray, aux: list[str]
) -> bytes:
    """Annotations in the MIT format that ``wfdb.rdann`` reads.

    Each annotation is a 16-bit word (code, time since the previous one);
    longer gaps go in a SKIP word with a 32-bit count; ``num`` is written
    only where it changes (readers carry it over); aux notes follow their
    annotation, padded to an even length.
    """
    out = bytearray()
    previous_sample = 0
    previous_num = 0
    for sample, symbol, num, note in zip(samples, symbols, nums, aux, strict=True):
        delta = int(sample) - previous_sample
        previous_sample = int(sample)
        if delta > 1023:
            out += _word(_SKIP, 0)
            out += (delta >> 16).to_bytes(2, "little")
            out += (delta & 0xFFFF).to_bytes(2, "little")
            delta = 0
        out += _word(_CODES[symbol], delta)
        if int(num) != previous_num:
            out += _word(_NUM, int(num))
            previous_num = int(num)
        if note:
            text = note.encode("ascii")
            out += _word(_AUX, len(text)) + text + (b"\0" if len(text) % 2 else b"")
    out += b"\0\0"
    return bytes(out)


def render(
    name: str, sim: Simulated, comments: list[str], rhythm: str
) -> dict[str, bytes]:
    """The bytes of ``NAME.hea``, ``NAME.dat`` and ``NAME.atr``.

    The files are encoded here rather than through ``wfdb.wrsamp`` and
    ``wfdb.wrann``, which cost about 85 ms per record (more than a quarter
    of a simulation); the tests read every file back with ``wfdb``.

    Parameters
    ----------
    name : str
        Record name (``p000001``).
    sim : Simulated
    comments : list of str
        Header comment lines, without ``#``.
    rhythm : str
        ``"N"`` (sinus) or ``"AFIB"``: the aux note of the rhythm annotation.

    Returns
    -------
    dict of file name to bytes
    """
    digital = digitise(sim.signal)
    samples, symbols, nums = _annotations(sim)
    atr = annotation_bytes(
        np.concatenate([[0], samples]),
        ["+", *symbols],
        np.concatenate([[0], nums]),
        [f"({rhythm}"] + [""] * len(symbols),
    )
    return {
        f"{name}.hea": header_text(name, digital, sim.fs, comments).encode("ascii"),
        f"{name}.dat": digital.astype("<i2").tobytes(order="C"),
        f"{name}.atr": atr,
    }
