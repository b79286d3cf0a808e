"""Corpus-level resolution: same-name merges by group votes and title entities, alias merges of spelling variants."""

from kgbuild.corpus_resolution import NodeRecord, alias_merges, corpus_merges, spelling_variants


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
    def person(iri, name, documents, titled=False):
        return NodeRecord(iri, name, "person", frozenset({"Person"}), frozenset(documents), titled)

    table = {"yolande de coucy": [1, 0], "yolanda de coucy": [1, 0.3], "yolandi de coucy": [1, 0.35]}
    apart = [person("a", "yolande de coucy", {"d1"}), person("b", "yolanda de coucy", {"d2"})]
    assert alias_merges(apart, {}, _vectors(table)) == {"b": "a"}  # the rule holds for the two alone
    together = [person("a", "yolande de coucy", {"d1"}), person("b", "yolanda de coucy", {"d1", "d2"})]
    assert alias_merges(together, {}, _vectors(table)) == {}
    titles = [person("x", "yolande de coucy", {"d1"}, True), person("y", "yolanda de coucy", {"d2"}, True)]
    assert alias_merges(titles, {}, _vectors(table)) == {}
    # a chain: b~c, the closest pair, joins first (c, in more documents, is canonical); a~b would then
    # join a to c, which shares document d1 with it, so it is refused
    chain = [*apart, person("c", "yolandi de coucy", {"d1", "d3"})]
    assert alias_merges(chain, {}, _vectors(table)) == {"b": "c"}
    # three title entities in a chain: at most one per merged node
    three = [*titles, person("z", "yolandi de coucy", {"d3"}, True)]
    assert alias_merges(three, {}, _vectors(table)) == {}


def test_alias_merges_block_on_accent_free_words_and_run_together_names():
    nodes = [_node("t1", "taïeb", "Person"), _node("t2", "taieb", "Person"), _node("j1", "jay z", "Person")]
    nodes.append(_node("j2", "jayz", "Person"))
    table = {"taïeb": [1, 0], "taieb": [1, 0], "jay z": [0, 1], "jayz": [0, 1]}
    assert alias_merges(nodes, {}, _vectors(table)) == {"t2": "t1", "j2": "j1"}
