"""One writer process of the MLflow concurrency test: logs N metrics to its own run.

usage: concurrent_writer.py URI EXPERIMENT WRITER_ID N_METRICS [--init]
"""

from __future__ import annotations

import sys

from shiftlab.tracking import init_store, live_logger

KEYS = 10


def main() -> None:
    uri, experiment, writer, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if "--init" in sys.argv:
        init_store(uri)  # every writer tries; the lock lets exactly one migrate a fresh store
    with live_logger(
        experiment, f"writer-{writer}", tracking_uri=uri, tags={"writer": writer}, flush_every=250
    ) as run:
        for i in range(n):
            run.log_metric(f"m{i % KEYS}", float(i), step=i // KEYS)
    print(run.run_id, run.sent)


if __name__ == "__main__":
    main()
