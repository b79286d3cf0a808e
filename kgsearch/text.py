"""Text helpers shared by indexing, search and training: word tokens, what a passage reads as, corpus reading."""

from __future__ import annotations

import re
from pathlib import Path

from kgbuild import CorpusProblem, Document, Fields, read_corpus
from kgsearch.records import Passage

DEFAULT_FIELDS = Fields()
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Return the lower-cased word tokens of `text`, as BM25 and alias blocking use them."""
    return _WORD.findall(text.casefold())


def passage_text(passage: Passage) -> str:
    """Return what the encoders and BM25 read of a passage: its title, then its text."""
    return f"{passage.title}. {passage.text}" if passage.title else passage.text


def read_passages(corpus: str | Path, fields: Fields = DEFAULT_FIELDS) -> tuple[list[Document], list[str]]:
    """Read the corpus as documents; return them and the problems of those that could not be read."""
    documents, problems = [], []
    for item in read_corpus(corpus, fields):
        if isinstance(item, CorpusProblem):
            problems.append(f"{item.source}: {item.reason}")
        else:
            documents.append(item)
    return documents, problems
