"""Exceptions raised by `kgbuild`.

KgBuildError
├── DataFormatError      a training/evaluation file is malformed (names file and line)
├── InputTextError       text to extract from is empty or not UTF-8
├── ModelLoadError       a model directory is missing, incomplete or inconsistent
├── LabelError           a label or entity type the model does not know
├── ClusterError         a Ray cluster cannot be reached, or lost every worker during a run
├── WorkerError          a worker process of the process engine failed or died
├── PackageDataError     a file the package ships (its ontologies) is missing: a broken install
├── CheckpointError      a training run cannot be resumed (names the state file and what to do)
├── RemoteStoreError     a remote store refused a write or could not be reached (names the URL);
                         also a ConnectionError
└── QueryError           a SPARQL query that is not answered (also a ValueError)
    ├── QuerySyntaxError     it does not parse
    ├── QueryRefusedError    an update, SERVICE or LOAD: the graph is read-only and local
    ├── QueryTimeoutError    it ran past its time limit (and was stopped)
    ├── QueryBusyError       every worker is taken and the queue is full: try again later
    └── QueryFailedError     it parsed but its evaluation failed
"""

from __future__ import annotations


class KgBuildError(Exception):
    """Base class of every error `kgbuild` raises on purpose."""


class DataFormatError(KgBuildError):
    """A data file cannot be read; the message names the file and, where known, the line."""


class InputTextError(KgBuildError):
    """Text given for extraction is empty or cannot be decoded."""


class ModelLoadError(KgBuildError):
    """A model directory cannot be loaded."""


class LabelError(KgBuildError):
    """A label or entity type is unknown to the model."""


class ClusterError(KgBuildError):
    """The Ray engine cannot reach its cluster, or the cluster cannot finish the run."""


class WorkerError(KgBuildError):
    """A worker process of the process engine failed on a document or died."""


class PackageDataError(KgBuildError):
    """A data file that ships inside the package is missing."""


class CheckpointError(KgBuildError):
    """An interrupted training run cannot be resumed: no state, a corrupt one, or another configuration's."""


class RemoteStoreError(KgBuildError, ConnectionError):
    """A remote store refused a request or could not be reached; the message names the URL."""


class QueryError(KgBuildError, ValueError):
    """A SPARQL query is not answered; the message says why."""


class QuerySyntaxError(QueryError):
    """A SPARQL query does not parse."""


class QueryRefusedError(QueryError):
    """A SPARQL query would write or reach outside the graph: updates, ``SERVICE``, ``LOAD``."""


class QueryTimeoutError(QueryError):
    """A SPARQL query ran past its time limit; its worker was stopped."""


class QueryBusyError(QueryError):
    """Every query worker is taken and the queue of waiting queries is full."""


class QueryFailedError(QueryError):
    """A SPARQL query parsed but its evaluation failed (e.g. the store could not be read)."""
