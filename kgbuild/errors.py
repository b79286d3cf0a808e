"""Exceptions raised by `kgbuild`.

KgBuildError
├── DataFormatError      a training/evaluation file is malformed (names file and line)
├── InputTextError       text to extract from is empty or not UTF-8
├── ModelLoadError       a model directory is missing, incomplete or inconsistent
├── LabelError           a label or entity type the model does not know
└── ClusterError         a Ray cluster cannot be reached, or lost every worker during a run
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
