"""spaCy's entities for the types the extractor has none for: dates and amounts in a CoNLL04 graph.

The extractor's entity head knows its training schema's types (CoNLL04: people, organisations,
places, other). A span spaCy types as something no type of the extractor's covers (a DATE, a
CARDINAL) joins the document's entities with spaCy's type; spans the extractor already found, and
spaCy's types the extractor has (a PERSON for a model with Peop), are left to the extractor. These
entities take part in resolution and the graph but in no relation: the relation head was not trained on them.
"""

from __future__ import annotations

from collections.abc import Iterable

from kgbuild.records import Extraction, ParsedDocument, PredictedEntity, Span

# spaCy's OntoNotes labels as extractor-style types (`kgbuild.rdf.ontology.ENTITY_CLASSES` maps both to classes);
# ORDINAL ("first") is left out: an ordinal is a rank, not a quantity.
SPACY_TYPES = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "DATE": "TIME",
    "TIME": "TIME",
    "CARDINAL": "NUM",
    "QUANTITY": "NUM",
    "MONEY": "NUM",
    "PERCENT": "NUM",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "PRODUCT": "MISC",
}
SPACY_CONFIDENCE = 0.5  # spaCy gives no score; below the extractor's own confident entities


def missing_types(entity_types: Iterable[str]) -> frozenset[str]:
    """Return the spaCy-derived types whose ontology class none of the extractor's `entity_types` has."""
    from kgbuild.rdf.ontology import entity_class

    covered = {entity_class(t) for t in entity_types}
    return frozenset(t for t in SPACY_TYPES.values() if entity_class(t) not in covered)


def add_named_entities(parsed: ParsedDocument, extraction: Extraction, missing: frozenset[str]) -> Extraction:
    """Add spaCy's entities of the `missing` types that overlap no entity the extractor found.

    Mentions of one surface form and type become one entity; relations keep their indices (new
    entities come after the extractor's).
    """
    if not missing:
        return extraction
    taken = {i for entity in extraction.entities for m in entity.mentions for i in range(m.start, m.end)}
    grouped: dict[tuple[str, str], list[Span]] = {}
    for span, label in parsed.named:
        kind = SPACY_TYPES.get(label)
        if kind == "NUM" and parsed.surface(span).isalpha():
            continue  # "two", "dozens": one value node per spelling would join every passage that counts
        if kind in missing and not taken.intersection(range(span.start, span.end)):
            grouped.setdefault((parsed.surface(span).casefold(), kind), []).append(span)
            taken.update(range(span.start, span.end))
    added = tuple(PredictedEntity(tuple(spans), kind, SPACY_CONFIDENCE) for (_, kind), spans in grouped.items())
    if not added:
        return extraction
    return Extraction(extraction.text, extraction.entities + added, extraction.relations, extraction.warnings)
