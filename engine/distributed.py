"""The same simulation run on a Dask distributed cluster, sharded by patient.

Each chunk of patients is one task: a worker simulates it and renders its
files in memory with the very function a local run uses
(:func:`engine.run.simulate_chunk`), and returns the bytes; this process
writes them, so workers need no shared storage and the output is
byte-identical to a local run. Each task uses one engine thread; Dask's
worker threads give the parallelism.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from engine.run import (
    Job,
    RunError,
    RunSummary,
    report_progress,
    simulate_chunk,
    write_result,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10


def connect(scheduler):
    """A ``distributed.Client`` for ``tcp://HOST:PORT`` (or the client given).

    Raises
    ------
    RunError
        If no scheduler answers at that address.
    """
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise RunError(
            f"--scheduler {scheduler}: no Dask scheduler answered within "
            f"{CONNECT_TIMEOUT_S} s ({exc}); expected tcp://HOST:PORT of a "
            "running `dask scheduler`"
        ) from None
    return client, True


def run_chunks_on_dask(client, job: Job, out_dir: Path, summary: RunSummary):
    """Submit every pending chunk to ``client`` and write results as they
    come back.

    A chunk whose task fails does not stop the others; the run is then left
    unfinished (resumable) and :class:`RunError` lists the failed chunks.
    """
    from distributed import as_completed

    spec = client.scatter(job.spec, broadcast=True)
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(simulate_chunk, spec, job.parts[i], i, 1, job.version,
                      job.simulator, key=f"cardiofair-chunk-{token}-{i}",
                      pure=False): i
        for i in job.todo
    }  # fmt: skip
    log.info("submitted %d chunks to %s", len(futures), client.scheduler.address)
    errors = []
    for future in as_completed(futures):
        try:
            result = future.result()
        except Exception as exc:  # a worker's failure, reported per chunk
            errors.append(f"chunk {futures[future]}: {exc}")
            continue
        write_result(out_dir, result, summary)
        report_progress(job, out_dir)
    if errors:
        raise RunError(
            f"{len(errors)} chunk(s) failed on the cluster ({errors[0]}); "
            "run the same command again to resume"
        )
