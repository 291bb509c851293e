"""Pseudonymous identifiers, remapped UIDs and per-patient date shifts.

One ``Pseudonyms`` object serves one ingest. Its key is drawn from the
operating system's random source and never stored, so nothing written by the
ingest can be traced back to an original identifier, while the same original
value maps to the same replacement everywhere within that ingest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Date shifts move every date of one patient back by this many days.
SHIFT_MIN_DAYS = 366
SHIFT_SPAN_DAYS = 3650


class Pseudonyms:
    """Consistent replacements for identifiers within one ingest.

    Parameters
    ----------
    key : bytes, optional
        Secret key of the keyed hash; a fresh random key when omitted.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._records: set[str] = set()

    def _digest(self, kind: str, value: str) -> bytes:
        message = f"{kind}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def record_id(self) -> str:
        """A new random record identifier such as ``"r7f3a9c02e1"``, never reused."""
        while True:
            candidate = "r" + secrets.token_hex(5)
            if candidate not in self._records:
                self._records.add(candidate)
                return candidate

    def patient_id(self, patient_key: str) -> str:
        """The pseudonym of a patient, the same for every record of that patient."""
        return "p" + self._digest("patient", patient_key).hex()[:10]

    def uid(self, original: str) -> str:
        """A DICOM UID under the ``2.25`` root that stands for ``original``."""
        number = int.from_bytes(self._digest("uid", original)[:16], "big")
        return f"2.25.{number}"

    def date_shift_days(self, patient_key: str) -> int:
        """Days by which every date of this patient is moved back (366 or more)."""
        value = int.from_bytes(self._digest("date", patient_key)[:4], "big")
        return SHIFT_MIN_DAYS + value % SHIFT_SPAN_DAYS
