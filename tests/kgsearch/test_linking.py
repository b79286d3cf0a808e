from kgsearch.linking import SHORT_TITLE, Name, NameIndex, link_exact

IRIS = ["p/ford", "p/poet", "p/disambiguation", "e/poet", "e/mention"]


def _index(primary: bool) -> NameIndex:
    """Passages "Edsel Ford" (if `primary`), "(poet)" and "(disambiguation)", the poet's title entity, a mention."""
    names = [
        Name(1, "Edsel Ford", SHORT_TITLE),
        Name(1, "Edsel Ford (poet)", "title"),
        Name(2, "Edsel Ford", SHORT_TITLE),
        Name(2, "Edsel Ford (disambiguation)", "title"),
        Name(3, "Edsel Ford", "label"),
        Name(4, "Edsel Ford", "label"),
    ]
    if primary:
        names.append(Name(0, "Edsel Ford", "title"))
    return NameIndex(IRIS, names, [1, 1, 1, 1, 2], 3, subjects={3: ["Edsel Ford (poet)"]})


def test_a_name_links_the_passage_it_titles_not_those_it_titles_with_a_disambiguator() -> None:
    linked = link_exact("Where did Edsel Ford's father die?", _index(primary=True))

    # Not the poet's passage or its title entity; the plain mention may be either man.
    assert [(m.text, m.node, m.how) for m in linked] == [
        ("Edsel Ford", "e/mention", "label"),
        ("Edsel Ford", "p/ford", "title"),
    ]


def test_without_a_passage_titled_by_the_name_its_disambiguated_passages_share_it() -> None:
    index = _index(primary=False)

    assert [m.node for m in link_exact("Who was Edsel Ford (poet)?", index)] == ["p/poet"]
    linked = link_exact("Who was Edsel Ford?", index)
    assert [(m.node, m.how) for m in linked] == [
        ("e/mention", "label"),
        ("e/poet", "label"),
        ("p/disambiguation", SHORT_TITLE),
        ("p/poet", SHORT_TITLE),
    ]
    assert len({m.weight for m in linked[2:]}) == 1  # an ambiguous name splits its weight


class _Entities:
    """A spaCy double: the question's entities are the spans given, with their labels."""

    pipe_names = ("tok2vec", "ner")

    def __init__(self, spans: dict[str, str]):
        self.spans = spans

    def select_pipes(self, enable: list[str]):  # type: ignore[no-untyped-def]
        import contextlib

        return contextlib.nullcontext()

    def __call__(self, question: str):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        ents = [
            SimpleNamespace(start_char=question.index(text), end_char=question.index(text) + len(text), label_=label)
            for text, label in self.spans.items()
        ]
        return SimpleNamespace(ents=ents)


def test_the_linker_links_exact_names_then_free_entities_by_their_nearest_name(indexed_kg) -> None:
    from kgsearch.index import load_index
    from kgsearch.linking import Linker

    index = load_index(indexed_kg)
    linker = Linker(index, nlp=_Entities({"Polsh Weding": "WORK_OF_ART", "Theresa Connelly": "PERSON", "1997": "DATE"}))
    question = "Did Theresa Connelly direct Polsh Weding in 1997?"
    exact = linker.exact(question)
    assert {m.text for m in exact} == {"Theresa Connelly"}
    spans = linker.free_spans(question, exact)
    assert [question[s:e] for s, e in spans] == ["Polsh Weding"]  # the exact match and the date are not free

    row = index.names.index("Polish Wedding")
    linked = linker.similar(question, exact, spans, {"Polsh Weding": index.name_vectors[row]}, threshold=0.85)
    by_embedding = [m for m in linked if m.how == "embedding"]
    assert [(m.text, m.label) for m in by_embedding] == [("Polsh Weding", "Polish Wedding")]
    assert linker.similar(question, exact, spans, {"Polsh Weding": -index.name_vectors[row]}, 0.85) == exact
    assert Linker(index, nlp=False).free_spans(question, exact) == []
