import pytest

from kgbuild.rdf.iris import IriMinter
from kgbuild.records import (
    Document,
    Extraction,
    ParsedDocument,
    PredictedEntity,
    PredictedRelation,
    Span,
    TokenizedText,
)
from kgbuild.resolution import (
    NodeRecord,
    alias_merges,
    corpus_merges,
    resolve_document,
    spelling_variants,
    title_match,
    title_name,
)


def _parsed(text: str, title: str = "") -> ParsedDocument:
    tokens, starts, position = [], [], 0
    for token in text.split():
        position = text.index(token, position)
        tokens.append(token)
        starts.append(position)
        position += len(token)
    ends = tuple(s + len(t) for s, t in zip(starts, tokens, strict=True))
    return ParsedDocument(Document("d", text, title), TokenizedText(tuple(tokens)), tuple(starts), ends)


def test_a_later_surname_joins_the_full_name_and_relations_follow():
    parsed = _parsed("Willi Schneider won gold . Schneider trained in Bonn . Schneider Bank paid .")
    entities = (
        PredictedEntity((Span(0, 2),), "PER", 0.9),
        PredictedEntity((Span(5, 6),), "PER", 0.8),
        PredictedEntity((Span(8, 9),), "LOC", 0.9),
        PredictedEntity((Span(10, 12),), "ORG", 0.9),  # shares a word, but not the type: stays apart
    )
    relations = (PredictedRelation(1, 2, "P551", 0.7), PredictedRelation(0, 1, "P26", 0.6))
    resolved = resolve_document(parsed, Extraction(parsed.text, entities, relations))
    assert [(e.label, e.mentions, e.aliases) for e in resolved.entities] == [
        ("Willi Schneider", (Span(0, 2), Span(5, 6)), ("Schneider",)),
        ("Bonn", (Span(8, 9),), ()),
        ("Schneider Bank", (Span(10, 12),), ()),
    ]
    assert [(r.head, r.tail, r.label) for r in resolved.relations] == [(0, 1, "P551")]  # the self-loop is gone


def test_acronyms_join_organisations():
    parsed = _parsed("The North Atlantic Treaty Organization met . NATO agreed .")
    entities = (PredictedEntity((Span(1, 5),), "ORG", 0.9), PredictedEntity((Span(7, 8),), "ORG", 0.9))
    resolved = resolve_document(parsed, Extraction(parsed.text, entities, ()))
    assert len(resolved.entities) == 1 and resolved.entities[0].aliases == ("NATO",)


def test_title_entity_keeps_its_disambiguator_in_iri_and_label_so_namesakes_stay_apart():
    minter = IriMinter()
    keys = []
    for title in ("John Smith (footballer)", "John Smith (politician)"):
        parsed = _parsed("John Smith was born in Leeds .", title)
        entities = (PredictedEntity((Span(0, 2),), "PER", 0.9), PredictedEntity((Span(5, 6),), "LOC", 0.9))
        [person, place] = resolve_document(parsed, Extraction(parsed.text, entities, ())).entities
        assert person.label == person.key == title and person.aliases == ("John Smith",)
        keys.append((minter.entity(person.key, "PER"), minter.entity(place.key, "LOC")))
    assert keys[0][0] != keys[1][0]  # two people
    assert keys[0][1] == keys[1][1]  # one Leeds
    assert title_name("Lambert, Margrave of Tuscany") == "Lambert, Margrave of Tuscany"


def test_an_ambiguous_short_form_joins_nobody():
    parsed = _parsed("John Smith met Mary Smith . Smith left .")
    entities = tuple(PredictedEntity((span,), "PER", 0.9) for span in (Span(0, 2), Span(3, 5), Span(6, 7)))
    resolved = resolve_document(parsed, Extraction(parsed.text, entities, ()))
    assert [e.label for e in resolved.entities] == ["John Smith", "Mary Smith", "Smith"]


@pytest.mark.parametrize(
    ("surface", "title", "expected"),
    [
        ("Huc- Mazelet Luquiens", "Huc-Mazelet Luquiens", 1.0),
        ("Mafalda of Savoy", "Princess Mafalda of Savoy", 0.9),
        ("Baldwin V of Flanders", "Baldwin V, Count of Flanders", 0.9),
        ("Bahrām Beyzāie", "Bahram Beyzai", 0.8),
        ("Joseph Bradley Story", "Joe Story", 0.7),
        ("John Smith", "John Smith (footballer)", 1.0),
        ("Japan", "The Wonderful World of Captain Kuhio", 0.0),
        ("Savoy", "Princess Mafalda of Savoy", 0.0),  # one word of a longer title says too little
    ],
)
def test_title_match_scores_variants_of_a_passage_title(surface: str, title: str, expected: float) -> None:
    assert title_match(surface, title) == expected


def test_the_best_title_match_becomes_the_title_entity() -> None:
    text = "Joseph Bradley Story was born in Seattle . Joseph Bradley Story played for Mary Story ."
    parsed = _parsed(text, "Joe Story")
    words = text.split()
    joseph = PredictedEntity((Span(0, 3), Span(8, 11)), "PER", 0.9)
    mary = PredictedEntity((Span(13, 15),), "PER", 0.9)
    seattle = PredictedEntity((Span(6, 7),), "LOC", 0.9)
    assert words[13:15] == ["Mary", "Story"]
    resolved = resolve_document(parsed, Extraction(parsed.text, (mary, joseph, seattle), ()))
    by_key = {e.key: e for e in resolved.entities}
    assert by_key["Joe Story"].mentions == (Span(0, 3), Span(8, 11))
    assert by_key["Joe Story"].label == "Joe Story"
    assert "Mary Story" in by_key and "Seattle" in by_key


def _node(iri: str, name: str, kind: str, documents: int = 1, titled: bool = False) -> NodeRecord:
    group = {"Person": "person", "Time": "value"}.get(kind, "thing")
    return NodeRecord(iri, name, group, frozenset({kind}), frozenset(f"{iri}#{i}" for i in range(documents)), titled)


def test_corpus_merges_a_mistyped_name_into_the_group_its_documents_agree_on():
    nodes = [_node("elvis-p", "elvis presley", "Person", 7), _node("elvis-w", "elvis presley", "Miscellaneous", 1)]
    assert corpus_merges(nodes) == {"elvis-w": "elvis-p"}
    # no clear majority: a person and a place named Hamilton stay two nodes
    assert corpus_merges([_node("h-p", "hamilton", "Person", 2), _node("h-l", "hamilton", "Location", 2)]) == {}


def test_corpus_merges_a_plain_mention_into_the_one_title_entity_of_its_name_and_class():
    footballer = _node("js-f", "john smith", "Person", titled=True)
    plain = _node("js", "john smith", "Person", 3)
    assert corpus_merges([footballer, plain]) == {"js": "js-f"}
    politician = _node("js-p", "john smith", "Person", titled=True)
    assert corpus_merges([footballer, politician, plain]) == {}  # which John Smith? neither
    film = _node("paris-film", "paris", "Miscellaneous", titled=True)
    assert corpus_merges([film, _node("paris", "paris", "Location", 9)]) == {}  # the city is not the film
    # a mistyped plain node follows its name's majority all the way to the title entity
    chained = corpus_merges([footballer, plain, _node("js-l", "john smith", "Location")])
    assert chained == {"js": "js-f", "js-l": "js-f"}


def test_corpus_merges_never_make_a_cycle_through_a_node_with_two_names():
    a = [_node("a", "x", "Person", 3), _node("a", "y", "Person", 1)]
    b = [_node("b", "x", "Location", 1), _node("b", "y", "Location", 3)]
    merges = corpus_merges([*a, *b])
    assert merges == {"b": "a"}  # "x" decides first; "y" would send a to b, which already joined a


def test_two_nodes_one_document_tells_apart_never_merge():
    person = NodeRecord("ep", "elvis presley", "person", frozenset({"Person"}), frozenset({"a", "b", "c"}), False)
    album = NodeRecord("ep-album", "elvis presley", "thing", frozenset({"Miscellaneous"}), frozenset({"c"}), False)
    assert corpus_merges([person, album]) == {}  # document c has the album by the singer


def test_one_name_typed_two_ways_in_a_passage_is_one_thing_unless_the_two_are_related():
    parsed = _parsed("Needtobreathe released Rivers . Needtobreathe toured . Needtobreathe sang .")
    band = PredictedEntity((Span(0, 1), Span(4, 5)), "ORG", 0.8)
    person = PredictedEntity((Span(7, 8),), "PER", 0.9)  # fewer mentions: the band wins
    album = PredictedEntity((Span(2, 3),), "MISC", 0.9)
    resolved = resolve_document(
        parsed, Extraction(parsed.text, (band, person, album), (PredictedRelation(1, 2, "P175", 0.8),))
    )
    assert [(e.label, e.type, e.mentions) for e in resolved.entities] == [
        ("Needtobreathe", "ORG", (Span(0, 1), Span(4, 5), Span(7, 8))),
        ("Rivers", "MISC", (Span(2, 3),)),
    ]
    assert [(r.head, r.tail, r.label) for r in resolved.relations] == [(0, 1, "P175")]  # the relation follows

    parsed = _parsed("Elvis Presley is an album by Elvis Presley .")
    album, singer = PredictedEntity((Span(0, 2),), "MISC", 0.7), PredictedEntity((Span(6, 8),), "PER", 0.9)
    performer = (PredictedRelation(0, 1, "P175", 0.9),)
    resolved = resolve_document(parsed, Extraction(parsed.text, (album, singer), performer))
    assert [(e.label, e.type) for e in resolved.entities] == [("Elvis Presley", "MISC"), ("Elvis Presley", "PER")]


def test_spelling_variants_are_one_name_spelled_two_ways_never_another_name():
    for first, second in [
        ("Jay Z", "Jay-Z"),
        ("Taïeb Louhichi", "Taieb Louhichi"),
        ("Gustav Adolph", "Gustavus Adolphus"),
    ]:
        assert spelling_variants(first, second), (first, second)
    for first, second in [
        ("Conrad II", "Conrad III"),  # numerals
        ("3rd Viscount Addison", "2nd Viscount Addison"),
        ("West Sussex", "Sussex"),  # a missing word
        ("Richard Sackville", "John Sackville"),
        ("Mingus Dynasty", "Ming Dynasty"),  # alike, not alike enough
        ("Alfonso \u0399\u0399\u0399", "Alfonso"),  # a word in another script is still a word
    ]:
        assert not spelling_variants(first, second), (first, second)


def _vectors(table: dict[str, list[float]]):
    import numpy as np

    def encode(names: list[str]):
        vectors = np.asarray([table[name] for name in names], dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return encode


def test_alias_merges_join_spelling_variants_the_encoder_finds_alike():
    nodes = [
        _node("jz", "jay z", "Person", 3),
        _node("jz2", "jay-z", "Person", 1),
        _node("ab", "anne boleyn", "Person", titled=True),
        _node("ab2", "ann boleyn", "Person", 4),
        _node("ab3", "ann boleyn", "Location"),  # another class: not a candidate
        _node("cc", "carl mathews", "Person"),
        _node("cc2", "carle mathews", "Person"),  # a spelling variant the encoder puts apart
    ]
    table = {
        "jay z": [1, 0, 0],
        "jay-z": [1, 0.1, 0],
        "anne boleyn": [0, 1, 0],
        "ann boleyn": [0, 1, 0.2],
        "carl mathews": [0, 0, 1],
        "carle mathews": [0, 1, 1],
    }
    merges = alias_merges(nodes, {}, _vectors(table), threshold=0.9)
    assert merges == {"jz2": "jz", "ab2": "ab"}  # the title entity is canonical, then the node in more documents
    assert alias_merges(nodes, {}, _vectors(table), threshold=1.01) == {}  # above 1: off
    # a node already merged by name takes part as its canonical node, with all its documents
    assert alias_merges(nodes, {"jz2": "jz"}, _vectors(table), threshold=0.9) == {"ab2": "ab"}


def test_alias_merges_never_join_nodes_one_document_mentions_or_two_title_entities():
    shared = NodeRecord("a", "marie de coucy", "person", frozenset({"Person"}), frozenset({"d1"}), False)
    other = NodeRecord("b", "mary de coucy", "person", frozenset({"Person"}), frozenset({"d1", "d2"}), False)
    table = {"marie de coucy": [1, 0], "mary de coucy": [1, 0.01]}
    assert alias_merges([shared, other], {}, _vectors(table)) == {}
    titles = [_node("x", "marie de coucy", "Person", titled=True), _node("y", "mary de coucy", "Person", titled=True)]
    assert alias_merges(titles, {}, _vectors(table)) == {}
