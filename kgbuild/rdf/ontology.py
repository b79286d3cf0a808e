"""The ontology `kgbuild` writes against: entity classes, relation properties, their domain and range.

Terms come from the closed namespaces of `kgbuild.rdf.namespaces`; the domains and ranges are read
from the ontologies shipped in the package (``kgbuild/ontologies/``). The prefix table and the
relations' readable names, plain strings, are in `kgbuild.rdf.vocabulary`.
"""

from __future__ import annotations

from functools import cache

from rdflib import RDFS, Graph, URIRef

from kgbuild.rdf.namespaces import CONLL, KG, WDT

ENTITY_CLASSES = {
    "PER": KG.Person, "Peop": KG.Person,
    "ORG": KG.Organization, "Org": KG.Organization,
    "LOC": KG.Location, "Loc": KG.Location,
    "TIME": KG.Time, "NUM": KG.Quantity,
    "MISC": KG.Miscellaneous, "Other": KG.Miscellaneous,
}  # fmt: skip
CONLL_PREDICATES = {
    "Work_For": CONLL.workFor, "Kill": CONLL.kill, "OrgBased_In": CONLL.orgBasedIn,
    "Live_In": CONLL.liveIn, "Located_In": CONLL.locatedIn,
}  # fmt: skip

# Entity IRIs are minted per identity group, not per class: the entity head may call a country a
# location in one passage and an organisation in the next, and that is still one country. People
# never merge with anything else; a time and a quantity of one spelling ("1000") are one value.
IDENTITY_GROUPS = {KG.Person: "person", KG.Time: "value", KG.Quantity: "value"}


def identity_group(entity_type: str) -> str:
    """Return the group within which entities of the same name are the same entity."""
    return IDENTITY_GROUPS.get(entity_class(entity_type), "thing")


def entity_class(entity_type: str) -> URIRef:
    """Ontology class of an extractor entity type (``kg:Entity`` for unknown types)."""
    return ENTITY_CLASSES.get(entity_type, KG.Entity)


def predicate(label: str) -> URIRef:
    """Ontology property of a relation label: Wikidata ids, CoNLL04 labels.

    Raises:
        KeyError: the label has no property in the ontologies.

    """
    if label in CONLL_PREDICATES:
        return CONLL_PREDICATES[label]
    try:
        return URIRef(str(getattr(WDT, label)))
    except AttributeError:
        raise KeyError(f"relation label {label!r} has no property in the ontologies") from None


@cache
def constraints() -> tuple[dict[URIRef, URIRef], dict[URIRef, URIRef]]:
    """Domain and range of every property declared in the shipped ontologies (``kgbuild/ontologies/*.ttl``).

    Raises:
        PackageDataError: the ontologies are missing: without them every triple would pass unchecked.

    """
    from kgbuild.settings import ontology_file

    ontology = Graph()
    for file in sorted(ontology_file("core.ttl").parent.glob("*.ttl")):
        ontology.parse(file, format="turtle")
    for name in ("conll04.ttl", "wikidata.ttl"):
        ontology_file(name)
    domains = {URIRef(str(s)): URIRef(str(o)) for s, o in ontology.subject_objects(RDFS.domain)}
    ranges = {URIRef(str(s)): URIRef(str(o)) for s, o in ontology.subject_objects(RDFS.range)}
    return domains, ranges


def fits(kind: URIRef, expected: URIRef | None) -> bool:
    """Whether an entity of class `kind` may stand where a property expects `expected` (None: anything)."""
    return expected is None or expected in (kind, KG.Entity) or not str(expected).startswith(str(KG))
