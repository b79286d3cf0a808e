"""Closed namespaces for the ontology terms `kgbuild` writes: a typo raises instead of minting an IRI.

`KG` is the core ontology (``kgbuild/ontologies/core.ttl``), `CONLL` the CoNLL04 relations
(``kgbuild/ontologies/conll04.ttl``) and `WDT` the 96 Wikidata properties of Re-DocRED under their real
IRIs (``kgbuild/ontologies/wikidata.ttl``).
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import DefinedNamespace, Namespace

from kgbuild.rdf.vocabulary import PREFIXES


class KG(DefinedNamespace):
    """The kgbuild core ontology."""

    _NS = Namespace(PREFIXES["kg"])
    _fail = True

    Document: URIRef
    Entity: URIRef
    Person: URIRef
    Organization: URIRef
    Location: URIRef
    Time: URIRef
    Quantity: URIRef
    Miscellaneous: URIRef
    Extraction: URIRef
    ExtractionRun: URIRef
    Extractor: URIRef
    sourceDocument: URIRef
    sentence: URIRef
    subjectStart: URIRef
    subjectEnd: URIRef
    objectStart: URIRef
    objectEnd: URIRef
    confidence: URIRef
    extractedBy: URIRef
    modelVersion: URIRef
    mentionedIn: URIRef
    alias: URIRef


class CONLL(DefinedNamespace):
    """The CoNLL04 relations."""

    _NS = Namespace(PREFIXES["conll"])
    _fail = True

    workFor: URIRef
    kill: URIRef
    orgBasedIn: URIRef
    liveIn: URIRef
    locatedIn: URIRef


class WDT(DefinedNamespace):
    """Wikidata direct properties used by the Re-DocRED relation set."""

    _NS = Namespace(PREFIXES["wdt"])
    _fail = True

    P6: URIRef  # head of government
    P17: URIRef  # country
    P19: URIRef  # place of birth
    P20: URIRef  # place of death
    P22: URIRef  # father
    P25: URIRef  # mother
    P26: URIRef  # spouse
    P27: URIRef  # country of citizenship
    P30: URIRef  # continent
    P31: URIRef  # instance of
    P35: URIRef  # head of state
    P36: URIRef  # capital
    P37: URIRef  # official language
    P39: URIRef  # position held
    P40: URIRef  # child
    P50: URIRef  # author
    P54: URIRef  # member of sports team
    P57: URIRef  # director
    P58: URIRef  # screenwriter
    P69: URIRef  # educated at
    P86: URIRef  # composer
    P102: URIRef  # member of political party
    P108: URIRef  # employer
    P112: URIRef  # founded by
    P118: URIRef  # league
    P123: URIRef  # publisher
    P127: URIRef  # owned by
    P131: URIRef  # located in the administrative territorial entity
    P136: URIRef  # genre
    P137: URIRef  # operator
    P140: URIRef  # religion
    P150: URIRef  # contains administrative territorial entity
    P155: URIRef  # follows
    P156: URIRef  # followed by
    P159: URIRef  # headquarters location
    P161: URIRef  # cast member
    P162: URIRef  # producer
    P166: URIRef  # award received
    P170: URIRef  # creator
    P171: URIRef  # parent taxon
    P172: URIRef  # ethnic group
    P175: URIRef  # performer
    P176: URIRef  # manufacturer
    P178: URIRef  # developer
    P179: URIRef  # series
    P190: URIRef  # sister city
    P194: URIRef  # legislative body
    P205: URIRef  # basin country
    P206: URIRef  # located in or next to body of water
    P241: URIRef  # military branch
    P264: URIRef  # record label
    P272: URIRef  # production company
    P276: URIRef  # location
    P279: URIRef  # subclass of
    P355: URIRef  # subsidiary
    P361: URIRef  # part of
    P364: URIRef  # original language of work
    P400: URIRef  # platform
    P403: URIRef  # mouth of the watercourse
    P449: URIRef  # original network
    P463: URIRef  # member of
    P488: URIRef  # chairperson
    P495: URIRef  # country of origin
    P527: URIRef  # has part
    P551: URIRef  # residence
    P569: URIRef  # date of birth
    P570: URIRef  # date of death
    P571: URIRef  # inception
    P576: URIRef  # dissolved, abolished or demolished
    P577: URIRef  # publication date
    P580: URIRef  # start time
    P582: URIRef  # end time
    P585: URIRef  # point in time
    P607: URIRef  # conflict
    P674: URIRef  # characters
    P676: URIRef  # lyrics by
    P706: URIRef  # located on terrain feature
    P710: URIRef  # participant
    P737: URIRef  # influenced by
    P740: URIRef  # location of formation
    P749: URIRef  # parent organization
    P800: URIRef  # notable work
    P807: URIRef  # separated from
    P840: URIRef  # narrative location
    P937: URIRef  # work location
    P1001: URIRef  # applies to jurisdiction
    P1056: URIRef  # product or material produced
    P1198: URIRef  # unemployment rate
    P1336: URIRef  # territory claimed by
    P1344: URIRef  # participant of
    P1365: URIRef  # replaces
    P1366: URIRef  # replaced by
    P1376: URIRef  # capital of
    P1412: URIRef  # languages spoken, written or signed
    P1441: URIRef  # present in work
    P3373: URIRef  # sibling
