"""The exceptions `kgsearch` raises, one tree.

::

    KgSearchError
     ├── QueryError        a question or a --where pattern that cannot be searched
     ├── SearchIndexError  no index, or one older than its graph (says how to rebuild)
     └── TrainingError     training pairs that cannot be read or used

Every message names the offending input.
"""

from __future__ import annotations


class KgSearchError(Exception):
    """Base of every error `kgsearch` raises on purpose."""


class QueryError(KgSearchError, ValueError):
    """A question or a graph pattern that cannot be searched."""


class SearchIndexError(KgSearchError):
    """A search index that is missing, stale or unreadable."""


class TrainingError(KgSearchError, ValueError):
    """Training pairs that cannot be read or used."""
