"""Errors raised while reading a source.

Every error names the file it is about and says what was wrong and what was
expected, so that a batch can report it on one line and move on.
"""

from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """A source input that cannot be ingested.

    Parameters
    ----------
    path : str or Path
        The file or folder the problem is about.
    problem : str
        What was wrong and, where it helps, what was expected.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class InvalidRecord(IngestError):
    """A WFDB record whose header or signal files are unusable."""


class InvalidDicom(IngestError):
    """A file that is not a readable DICOM object of a supported kind."""


class InvalidTable(IngestError):
    """A CSV table (such as PTB-XL's database) that cannot be used."""


class EmptySource(IngestError):
    """A folder or source without anything to ingest."""


class InvalidManifest(ValueError):
    """A legal basis, purpose or name given for a source that is not accepted."""
