"""A private OpenLink Virtuoso 7 (Debian's ``virtuoso-opensource``) for tests
and benchmarks: its own folder, free ports, anonymous SPARQL updates allowed.

The database stays in its folder, so a benchmark can start the same instance
again later on new ports and find its triples there.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import free_port

SERVER = "virtuoso-t"
ISQL = "isql-vt"
#: Anonymous requests to /sparql run as the SQL user "SPARQL"; updates need
#: this role.
GRANT_UPDATE = 'GRANT SPARQL_UPDATE TO "SPARQL";'
#: What isql says when a database started again already has the grant.
ALREADY_GRANTED = 'already have role "SPARQL_UPDATE"'
START_TIMEOUT_S = 120.0

INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
[Parameters]
ServerPort = {sql_port}
DisableUnixSocket = 1
DirsAllowed = {folder}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
CheckpointInterval = 60
MaxClientConnections = 10
[HTTPServer]
ServerPort = {http_port}
ServerRoot = {folder}
ServerThreads = 10
MaxClientConnections = 10
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {max_query_s}
"""


class VirtuosoMissing(RuntimeError):
    """``virtuoso-t`` or ``isql-vt`` is not installed."""


@dataclass(frozen=True)
class Virtuoso:
    """A running instance: its SPARQL endpoint (queries and updates alike)."""

    sparql_url: str
    sql_port: int
    folder: Path

    def env(self) -> dict[str, str]:
        """The catalog's settings that point at this instance."""
        return {
            "CARDIOFAIR_SPARQL_QUERY_URL": self.sparql_url,
            "CARDIOFAIR_SPARQL_UPDATE_URL": self.sparql_url,
        }


def installed() -> bool:
    return shutil.which(SERVER) is not None and shutil.which(ISQL) is not None


@contextmanager
def private_virtuoso(
    folder: Path,
    buffers: int = 10_000,
    max_rows: int = 1_000_000,
    max_query_s: int = 60,
    start_timeout_s: float = START_TIMEOUT_S,
) -> Iterator[Virtuoso]:
    """Start Virtuoso on a database in ``folder`` (made if new); stop it on exit.

    Parameters
    ----------
    folder : Path
        Holds the configuration, database and log.
    buffers : int
        Pages of 8 KiB kept in memory (``NumberOfBuffers``); 10,000 is 80 MB.
        ``MaxDirtyBuffers`` is set to 60 % of it.
    max_rows : int
        ``ResultSetMaxRows``: Virtuoso cuts every answer at this many rows.
    max_query_s : int
        ``MaxQueryExecutionTime``: Virtuoso stops a query after this many
        seconds and sends what it has (flagged, see
        :class:`catalog.sparql_engine.RemoteRunner`), so that a query its
        client gave up on does not run on.
    start_timeout_s : float
        How long to wait for the server to answer. A kept database whose
        last writes were never checkpointed is replayed from its transaction
        log first, which takes minutes for millions of triples (see
        :func:`checkpoint`).

    Raises
    ------
    VirtuosoMissing
        If the Debian package ``virtuoso-opensource`` is not installed.
    RuntimeError
        If the server does not come up or refuses the grant, with its log.
    """
    if not installed():
        raise VirtuosoMissing(
            f"{SERVER} and {ISQL} are needed: apt-get install "
            "--no-install-recommends virtuoso-opensource"
        )
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        INI.format(
            folder=folder.resolve(),
            sql_port=sql_port,
            http_port=http_port,
            buffers=buffers,
            dirty_buffers=buffers * 6 // 10,
            max_rows=max_rows,
            max_query_s=max_query_s,
        )
    )
    with open(folder / "server.out", "ab") as out:
        process = subprocess.Popen(
            [SERVER, "-c", str(ini), "+foreground"],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    instance = Virtuoso(f"http://127.0.0.1:{http_port}/sparql", sql_port, folder)
    try:
        _wait_until_up(instance, process, start_timeout_s)
        _grant_updates(instance)
        yield instance
    finally:
        _stop(process)


def checkpoint(instance: Virtuoso) -> None:
    """Write everything to the database file and empty the transaction log,
    so that the next start does not replay it (Virtuoso checkpoints on its own
    only every ``CheckpointInterval`` minutes)."""
    command = [ISQL, str(instance.sql_port), "dba", "dba", "exec=checkpoint;"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Error" in output:
        raise RuntimeError(f"{ISQL} could not checkpoint:\n{output.strip()}")


def _log_tail(folder: Path, lines: int = 15) -> str:
    # In the foreground the server writes its log to standard output.
    log = folder / "server.out"
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_up(
    instance: Virtuoso, process: subprocess.Popen, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{SERVER} exited with status {process.returncode}:\n"
                + _log_tail(instance.folder)
            )
        try:
            response = httpx.post(
                instance.sparql_url, data={"query": "ASK {}"}, timeout=2.0
            )
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{SERVER} did not answer on {instance.sparql_url} within "
        f"{timeout_s:g} s:\n" + _log_tail(instance.folder)
    )


def _grant_updates(instance: Virtuoso) -> None:
    """Let anonymous /sparql requests update (the SQL port may open last)."""
    command = [ISQL, str(instance.sql_port), "dba", "dba", f"exec={GRANT_UPDATE}"]
    for _ in range(50):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        output = done.stdout + done.stderr
        granted = "Error" not in output or ALREADY_GRANTED in output
        if done.returncode == 0 and granted:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{ISQL} could not grant SPARQL_UPDATE:\n{output.strip()}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
