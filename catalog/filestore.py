"""Content-addressed store of release files.

A file lives at ``{root}/sha256/ab/cdef...``, named by the SHA-256 of its
bytes, so identical files are stored once and a stored file cannot change
without its name becoming wrong. Every write goes to a temporary file in
``{root}/tmp`` that is hashed while it is written, flushed to disk and then
renamed into place: a crash leaves either no file or the whole file, never a
partial one under a content name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class FileTooLarge(ValueError):
    """A file is larger than the size limit it was written under."""

    def __init__(self, name: str, limit_bytes: int):
        super().__init__(
            f"{name}: larger than the limit of {limit_bytes} bytes; expected a "
            "smaller file (the limit is CARDIOFAIR_MAX_UPLOAD_MB)"
        )
        self.limit_bytes = limit_bytes


class StoredFileMissing(FileNotFoundError):
    """A file named by a release is not in the store."""


class StoredFileCorrupt(ValueError):
    """A stored file's bytes no longer hash to its name."""


class FileStore:
    """A content-addressed folder.

    Parameters
    ----------
    root : Path
        The folder; ``sha256/`` and ``tmp/`` are created inside it on demand.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Where the file with this digest is (or would be) stored."""
        if not SHA256_RE.match(sha256):
            raise ValueError(f"{sha256!r}: expected 64 lower-case hex digits")
        return self.root / "sha256" / sha256[:2] / sha256[2:]

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_stream(
        self, source: BinaryIO, name: str = "file", max_bytes: int | None = None
    ) -> tuple[str, int]:
        """Copy a binary stream into the store.

        Parameters
        ----------
        source : binary file object
            Read to its end in chunks of ``CHUNK_BYTES``.
        name : str
            What the stream is, for error messages.
        max_bytes : int, optional
            Refuse streams longer than this.

        Returns
        -------
        sha256 : str
            The hex digest, which is also the file's name in the store.
        size_bytes : int

        Raises
        ------
        FileTooLarge
            If ``max_bytes`` is exceeded; nothing is left behind.
        """
        digest = hashlib.sha256()
        size = 0
        with self._temporary() as (tmp_path, out):
            while chunk := source.read(CHUNK_BYTES):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise FileTooLarge(name, max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            self._move_into_place(tmp_path, sha256)
        log.debug("stored %s as %s (%d bytes)", name, sha256, size)
        return sha256, size

    def put_file(self, path: Path, max_bytes: int | None = None) -> tuple[str, int]:
        """Copy a file into the store; see :meth:`put_stream`."""
        with open(path, "rb") as source:
            return self.put_stream(source, str(path), max_bytes)

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored file for reading.

        Raises
        ------
        StoredFileMissing
            If no file with this digest is stored.
        """
        try:
            return open(self.path_for(sha256), "rb")
        except FileNotFoundError:
            raise StoredFileMissing(
                f"file {sha256} is not in the store {self.root}"
            ) from None

    def verify(self, sha256: str) -> int:
        """Re-hash a stored file and return its size.

        Raises
        ------
        StoredFileMissing
            If the file is not stored.
        StoredFileCorrupt
            If its bytes do not hash to ``sha256``.
        """
        digest = hashlib.sha256()
        size = 0
        with self.open(sha256) as stored:
            while chunk := stored.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        if digest.hexdigest() != sha256:
            raise StoredFileCorrupt(
                f"file {sha256} in the store {self.root} hashes to "
                f"{digest.hexdigest()}; the stored copy is damaged"
            )
        return size

    @contextmanager
    def _temporary(self) -> Iterator[tuple[Path, BinaryIO]]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp_path = tmp_dir / f"{os.getpid()}-{secrets.token_hex(8)}.part"
        try:
            with open(tmp_path, "xb") as out:
                yield tmp_path, out
        finally:
            tmp_path.unlink(missing_ok=True)

    def _move_into_place(self, tmp_path: Path, sha256: str) -> None:
        target = self.path_for(sha256)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
