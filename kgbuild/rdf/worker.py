"""A query worker process: ``python -m kgbuild.rdf.worker REQUESTS_FD ANSWERS_FD STORE GENERATION``.

It opens the store read-only, answers ``ready``, then checks and evaluates each query it is sent
(``(generation, query, row_limit)``) and sends back ``("ok", QueryResult)`` or ``("error", QueryError)``.
A newer generation than its own means the store was rebuilt: it reopens it first. `QueryRunner`
starts these and kills one whose query runs past the time limit.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from kgbuild.errors import QueryError, QueryFailedError
from kgbuild.rdf.query import check_read_only, evaluate


def main(arguments: list[str]) -> None:
    """Serve queries on the given pipes until the parent closes them."""
    import pyoxigraph

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops the workers
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    requests = Connection(int(arguments[0]), writable=False)
    answers = Connection(int(arguments[1]), readable=False)
    store_path, generation = arguments[2], int(arguments[3])
    check = functools.lru_cache(maxsize=512)(check_read_only)  # clients repeat queries; parsing costs milliseconds
    try:
        store = pyoxigraph.Store.read_only(store_path)
    except OSError as error:
        answers.send(("failed", str(error)))
        return
    check_read_only("ASK { ?s ?p ?o }")  # the parser builds its grammar on first use: not in a query's time
    answers.send(("ready", None))
    while True:
        try:
            wanted, query, row_limit = requests.recv()
        except (EOFError, OSError):
            return
        try:
            if wanted != generation:
                store, generation = pyoxigraph.Store.read_only(store_path), wanted
            answers.send(("ok", evaluate(store, check(query), row_limit)))
        except QueryError as error:
            answers.send(("error", error))
        except OSError as error:
            answers.send(("error", QueryFailedError(f"query failed: {error}")))


def _exit_with_parent(parent: int) -> None:
    """End this process once its parent is gone, even in the middle of a query (Oxigraph releases the GIL)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
