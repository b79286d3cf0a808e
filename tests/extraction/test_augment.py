import pytest

from kgbuild.extraction.augment import swap_names
from kgbuild.records import EntityAnnotation, Example, RelationAnnotation, Span, TokenizedText


def _example(id_: str, words: str, entities: list[tuple[list[tuple[int, int]], str]], relations=()) -> Example:
    tokens = tuple(words.split())
    starts = tuple([0] + [i + 1 for i, token in enumerate(tokens[:-1]) if token == "."])
    annotations = tuple(EntityAnnotation(tuple(Span(*m) for m in mentions), kind) for mentions, kind in entities)
    return Example(TokenizedText(tokens, starts, id_), annotations, tuple(relations))


def _names(example: Example, entity: int) -> list[str]:
    tokens = example.text.tokens
    return [" ".join(tokens[m.start : m.end]) for m in example.entities[entity].mentions]


# A son and his father; a place and a date that are never renamed.
SON = _example(
    "son",
    "Colgu mac Failbe was a king in 1900 . He was the son of Failbe Flann . Colgu died .",
    [([(0, 3), (17, 18)], "PER"), ([(14, 16)], "PER"), ([(7, 8)], "TIME")],
    [RelationAnnotation(0, 1, "P22", (1,)), RelationAnnotation(1, 0, "P40", (1,))],
)
OTHER = _example(
    "other", "Ann Marie Lee met Bob Stone in Rome .", [([(0, 3)], "PER"), ([(4, 6)], "PER"), ([(7, 8)], "LOC")]
)


def test_a_copy_keeps_the_context_and_labels_and_renames_every_mention_of_a_person_alike():
    son, other = swap_names([SON, OTHER], copies=1, seed=1)
    assert son.text.id == "son (names swapped)" and son.relations == SON.relations
    full, short = _names(son, 0)
    assert full in {"Ann Marie Lee", "Bob Stone"}
    assert short == full.split()[0]  # "Colgu" was the first word of the full name: the new one's first word
    assert _names(son, 1)[0] in {"Ann Marie Lee", "Bob Stone"}
    assert _names(son, 2) == ["1900"]  # a date keeps its words
    assert " ".join(son.text.tokens).endswith(f". He was the son of {_names(son, 1)[0]} . {short} died .")
    assert [son.text.tokens[i] for i in son.text.sentence_starts] == [full.split()[0], "He", short]
    assert _names(other, 2) == ["Rome"] and set(_names(other, 0) + _names(other, 1)) <= {
        "Colgu mac Failbe",
        "Failbe Flann",
    }


def test_the_copies_are_seeded_and_counted():
    assert swap_names([SON, OTHER], copies=2, seed=3) == swap_names([SON, OTHER], copies=2, seed=3)
    copies = swap_names([SON, OTHER], copies=2, seed=3)
    assert [c.text.id for c in copies] == [
        "son (names swapped)",
        "other (names swapped)",
        "son (names swapped 2)",
        "other (names swapped 2)",
    ]
    assert swap_names([SON, OTHER], copies=0) == []
    with pytest.raises(ValueError, match="copies must be >= 0, got -1"):
        swap_names([SON], copies=-1)


def test_an_entity_with_overlapping_mentions_keeps_its_name_and_a_lone_name_finds_no_partner():
    nested = _example("nested", "Bob Stone Bridge fell .", [([(0, 2)], "PER"), ([(0, 3)], "ORG")])
    ids = [copy.text.id for copy in swap_names([nested, OTHER, SON], seed=1)]
    assert ids == ["other (names swapped)", "son (names swapped)"]  # nested mentions: nothing renamed
    one_word = _example("one", "Plato taught .", [([(0, 1)], "PER")])
    assert swap_names([one_word, OTHER], seed=1) == []  # one word takes one word; OTHER's names need two


def test_words_after_a_longer_or_shorter_name_move_with_it():
    # "Al Bo" (2 words) takes "Maria de la Cruz" (4): the mention of Oslo and the second sentence move by 2.
    short = _example("short", "Al Bo met us in Oslo . Bo left .", [([(0, 2), (7, 8)], "PER"), ([(5, 6)], "LOC")])
    long = _example("long", "Maria de la Cruz sang .", [([(0, 4)], "PER")])
    copy = swap_names([short, long], seed=1)[0]
    assert copy.text.tokens == ("Maria", "de", "la", "Cruz", "met", "us", "in", "Oslo", ".", "Cruz", "left", ".")
    assert copy.entities[1].mentions == (Span(7, 8),) and _names(copy, 1) == ["Oslo"]
    assert copy.text.sentence_starts == (0, 9)
    assert _names(copy, 0) == ["Maria de la Cruz", "Cruz"]  # the surname-like short form takes the new surname
    back = swap_names([short, long], seed=1)[1]
    assert back.text.tokens == ("Al", "Bo", "sang", ".") and back.entities[0].mentions == (Span(0, 2),)


def test_two_entities_of_one_copy_never_share_a_name_and_a_copy_with_nothing_renamed_is_left_out():
    for seed in range(20):
        for copy in swap_names([SON, OTHER], copies=3, seed=seed):
            people = [" ".join(_names(copy, i)[:1]) for i, e in enumerate(copy.entities) if e.type == "PER"]
            assert len(set(people)) == len(people), (seed, copy.text.tokens)
    place = _example("place", "Rome is in Lazio .", [([(0, 1)], "LOC"), ([(3, 4)], "LOC")])
    assert [c.text.id for c in swap_names([place, OTHER, SON], seed=1)] == [
        "other (names swapped)",
        "son (names swapped)",
    ]
