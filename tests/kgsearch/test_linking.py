from kgsearch.linking import SHORT_TITLE, Name, NameIndex, link_exact


def _index(primary: bool) -> NameIndex:
    """Passages whose titles name Edsel Ford with a disambiguator, one without it if `primary`, and an entity."""
    names = [
        Name(1, "Edsel Ford", SHORT_TITLE),
        Name(1, "Edsel Ford (poet)", "title"),
        Name(2, "Edsel Ford", SHORT_TITLE),
        Name(2, "Edsel Ford (disambiguation)", "title"),
        Name(3, "Henry Ford", "label"),
    ]
    if primary:
        names.append(Name(0, "Edsel Ford", "title"))
    return NameIndex(["p/ford", "p/poet", "p/disambiguation", "e/henry"], names, [1, 1, 1, 4], 3)


def test_a_name_links_the_passage_it_titles_not_those_it_titles_with_a_disambiguator() -> None:
    linked = link_exact("Where did Edsel Ford's father die?", _index(primary=True))

    assert [(m.text, m.node, m.how) for m in linked] == [("Edsel Ford", "p/ford", "title")]


def test_without_a_passage_titled_by_the_name_its_disambiguated_passages_share_it() -> None:
    index = _index(primary=False)

    assert [m.node for m in link_exact("Who was Edsel Ford (poet)?", index)] == ["p/poet"]
    linked = link_exact("Who was Edsel Ford?", index)
    assert [(m.node, m.how) for m in linked] == [("p/disambiguation", SHORT_TITLE), ("p/poet", SHORT_TITLE)]
    assert linked[0].weight == linked[1].weight  # an ambiguous name splits its weight
