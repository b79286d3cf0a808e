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
