"""Build a very long document's graph section by section, so that its memory stays bounded.

A document over `SECTION_CHARS` characters is cut into consecutive sections between paragraphs (else
sentences, else words; `kgbuild.parsing.piece_bounds`). `kgbuild.pipeline` parses, extracts, resolves
and turns each section into triples on its own, so only one section's words, entities and rdflib graph
are held at a time; each section's words keep their character offsets in the whole document, so
provenance (sentence, ``kg:subjectStart``...) points into the whole text. Across sections, entities of
one name and identity group are one node already (their IRIs are minted from both); `DocumentSections`
also gives them the label the first section gave, so a node is not labelled twice, and joins a name
new in a later section to the one earlier name it is a short form of ("Smith" after "John Smith"
two sections before), as resolution does inside a section. Shorter documents are not touched: their
graphs are byte for byte what they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from kgbuild.parsing import piece_bounds
from kgbuild.records import Document, ParsedDocument
from kgbuild.resolution import LongForms, ResolvedDocument

if TYPE_CHECKING:
    from kgbuild.rdf.graph import GraphStats

# About 50 sample passages: at roughly 0.4 GB per MB of text held whole (2026-12-04), a section's state
# stays near 0.1 GB, and a section is long enough that most names and their short forms share one.
SECTION_CHARS = 200_000
# Part of a sectioned document's content hash: a change to how sections join rebuilds those documents only.
SECTIONS_VERSION = 2  # 2: a short form joins its long form across sections


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a long document: its text as a document of its own, and where it begins."""

    document: Document
    start: int


def document_sections(document: Document, limit: int = SECTION_CHARS) -> Iterator[Section]:
    """Cut `document` into sections of at most `limit` characters (blank ones skipped), in order.

    Raises:
        ValueError: `limit` is not positive.

    """
    for start, end in piece_bounds(document.text, limit):
        text = document.text[start:end]
        if text.strip():
            yield Section(Document(document.id, text, document.title, document.metadata), start)


def in_whole_document(parsed: ParsedDocument, whole: Document, start: int) -> ParsedDocument:
    """Return a section's parse as part of `whole`: words keep their order, offsets move by `start`."""
    starts = tuple(offset + start for offset in parsed.char_starts)
    ends = tuple(offset + start for offset in parsed.char_ends)
    return ParsedDocument(whole, parsed.text, starts, ends, parsed.named)


class DocumentSections:
    """What a long document's graph keeps across its sections: one label per node, and the N-Quads so far.

    The state is the distinct node names seen and the distinct lines written, never a section's words.
    """

    def __init__(self) -> None:
        self._labels: dict[tuple[str, str], str] = {}  # (normalised key, identity group) -> first label
        self._long_forms = LongForms()
        self._joined: dict[tuple[str, str], str] = {}  # a short form joined once -> its long form's key
        self._lines: set[str] = set()
        self._triples: set[tuple[str, str, str]] = set()
        self.sentences = 0
        self.rejected = 0

    def join(self, resolved: ResolvedDocument) -> ResolvedDocument:
        """Join a section's entities to the nodes of earlier sections: same name, or a new short form of one.

        An entity takes the label its node got first (its own becomes an alias). A name no earlier
        section had, that shortens exactly one earlier name of its type, takes that name's key, and
        keeps it in the sections after.
        """
        from kgbuild.rdf.iris import normalize_label
        from kgbuild.rdf.ontology import identity_group

        entities = []
        for entity in resolved.entities:
            group = identity_group(entity.type)
            node = (normalize_label(entity.key), group)
            if node not in self._labels:
                long = self._joined.get(node) or self._long_forms.long_form(entity.key, entity.type)
                if long is not None and (normalize_label(long), group) in self._labels:
                    self._joined[node] = long  # the next section's "Smith" is this node too
                    entity, node = replace(entity, key=long), (normalize_label(long), group)
            label = self._labels.setdefault(node, entity.label)
            if label != entity.label:
                aliases = tuple(dict.fromkeys(name for name in (entity.label, *entity.aliases) if name != label))
                entity = replace(entity, label=label, aliases=aliases)
            entities.append(entity)
        for entity in entities:
            self._long_forms.add(entity.key, entity.type)
        return ResolvedDocument(resolved.parsed, tuple(entities), resolved.relations)

    @property
    def triples(self) -> int:
        """Distinct relation triples so far: one that two sections read is counted once, as the graph holds it."""
        return len(self._triples)

    def add(self, nquads: str, sentences: int, stats: GraphStats) -> None:
        """Add one section's N-Quads and counts (a line an earlier section wrote is kept once); free its heap."""
        self._lines.update(line for line in nquads.split("\n") if line.strip())
        self._triples.update(stats.written)
        self.sentences += sentences
        self.rejected += stats.rejected
        return_freed_heap()

    def nquads(self) -> str:
        """Return the document's named graph: every section's lines, sorted and once each, as for a short one."""
        return "".join(line + "\n" for line in sorted(self._lines))


def return_freed_heap() -> None:
    """Hand the pages of freed C heap back to the system (glibc's ``malloc_trim``; nothing where it is missing).

    A section's tensors are freed when it is done, but glibc keeps their pages: in one process, the
    sections of a 1 MB document left resident set size growing from 762 to 892 MB while Python's own
    objects stayed at 41 MB, and ``malloc_trim`` gave 343 MB back (2026-12-05 in ``bench/results.md``).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the C library this process already uses
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl without it, Windows)
        return None
    return trim
