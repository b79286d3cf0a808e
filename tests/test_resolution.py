import pytest

from kgbuild.rdf.iris import IriMinter
from kgbuild.records import (
    Extraction,
    PredictedEntity,
    PredictedRelation,
    Span,
)
from kgbuild.resolution import resolve_document, title_match, title_name
from tests.records import parsed_document


def test_a_later_surname_joins_the_full_name_and_relations_follow():
    parsed = parsed_document("Willi Schneider won gold . Schneider trained in Bonn . Schneider Bank paid .")
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
    parsed = parsed_document("The North Atlantic Treaty Organization met . NATO agreed .")
    entities = (PredictedEntity((Span(1, 5),), "ORG", 0.9), PredictedEntity((Span(7, 8),), "ORG", 0.9))
    resolved = resolve_document(parsed, Extraction(parsed.text, entities, ()))
    assert len(resolved.entities) == 1 and resolved.entities[0].aliases == ("NATO",)


def test_title_entity_keeps_its_disambiguator_in_iri_and_label_so_namesakes_stay_apart():
    minter = IriMinter()
    keys = []
    for title in ("John Smith (footballer)", "John Smith (politician)"):
        parsed = parsed_document("John Smith was born in Leeds .", title)
        entities = (PredictedEntity((Span(0, 2),), "PER", 0.9), PredictedEntity((Span(5, 6),), "LOC", 0.9))
        [person, place] = resolve_document(parsed, Extraction(parsed.text, entities, ())).entities
        assert person.label == person.key == title and person.aliases == ("John Smith",)
        keys.append((minter.entity(person.key, "PER"), minter.entity(place.key, "LOC")))
    assert keys[0][0] != keys[1][0]  # two people
    assert keys[0][1] == keys[1][1]  # one Leeds
    assert title_name("Lambert, Margrave of Tuscany") == "Lambert, Margrave of Tuscany"


def test_an_ambiguous_short_form_joins_nobody():
    parsed = parsed_document("John Smith met Mary Smith . Smith left .")
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
        ("Henry Ford II", "Henry Ford", 0.0),  # his grandson
        ("Louis XIV", "Louis XV", 0.0),
        ("Humphrey Stafford", "Humphrey Stafford, 1st Duke of Buckingham", 0.9),  # the name without the title
        (
            "Juan Alfonso Pérez de Guzmán, 3rd Duke of Medina Sidonia",
            "Alfonso Pérez de Guzmán, 5th Duke of Medina Sidonia",
            0.0,
        ),
        (
            "Alfonso Pérez de Guzmán y Zúñiga, 5th Duke of Medina Sidonia",
            "Alfonso Pérez de Guzmán, 5th Duke of Medina Sidonia",
            0.9,
        ),
    ],
)
def test_title_match_scores_variants_of_a_passage_title(surface: str, title: str, expected: float) -> None:
    assert title_match(surface, title) == expected


def test_the_best_title_match_becomes_the_title_entity() -> None:
    text = "Joseph Bradley Story was born in Seattle . Joseph Bradley Story played for Mary Story ."
    parsed = parsed_document(text, "Joe Story")
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


def test_one_name_typed_two_ways_in_a_passage_is_one_thing_unless_the_two_are_related():
    parsed = parsed_document("Needtobreathe released Rivers . Needtobreathe toured . Needtobreathe sang .")
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

    parsed = parsed_document("Elvis Presley is an album by Elvis Presley .")
    album, singer = PredictedEntity((Span(0, 2),), "MISC", 0.7), PredictedEntity((Span(6, 8),), "PER", 0.9)
    performer = (PredictedRelation(0, 1, "P175", 0.9),)
    resolved = resolve_document(parsed, Extraction(parsed.text, (album, singer), performer))
    assert [(e.label, e.type) for e in resolved.entities] == [("Elvis Presley", "MISC"), ("Elvis Presley", "PER")]


def test_a_reading_related_to_one_already_joined_stays_apart():
    parsed = parsed_document("Hamilton Hamilton met Hamilton in Hamilton .")
    company = PredictedEntity((Span(0, 1), Span(1, 2)), "ORG", 0.9)
    person, place = PredictedEntity((Span(3, 4),), "PER", 0.8), PredictedEntity((Span(5, 6),), "LOC", 0.7)
    lived = (PredictedRelation(1, 2, "P551", 0.9),)  # the person lived in the place: two things
    resolved = resolve_document(parsed, Extraction(parsed.text, (company, person, place), lived))
    assert [(e.type, len(e.mentions)) for e in resolved.entities] == [("ORG", 3), ("LOC", 1)]
    assert [(r.head, r.tail, r.label) for r in resolved.relations] == [(0, 1, "P551")]  # the relation survives


def test_a_name_without_its_generational_suffix_is_another_person():
    parsed = parsed_document("Edsel Ford was the son of Henry Ford . His eldest son was Henry Ford II .", "Edsel Ford")
    edsel, father, son = (PredictedEntity((span,), "PER", 0.9) for span in (Span(0, 2), Span(6, 8), Span(13, 16)))
    relations = (PredictedRelation(0, 1, "P22", 0.8), PredictedRelation(2, 0, "P22", 0.8))
    resolved = resolve_document(parsed, Extraction(parsed.text, (edsel, father, son), relations))
    assert [e.label for e in resolved.entities] == ["Edsel Ford", "Henry Ford", "Henry Ford II"]
    assert [(r.head, r.tail) for r in resolved.relations] == [(0, 1), (2, 0)]  # the father is not the son


def test_a_short_form_naming_the_passage_title_stays_with_the_subject():
    text = "Humphrey Stafford was the eldest son of Humphrey Stafford , 1st Duke of Buckingham ."
    parsed = parsed_document(text, "Humphrey Stafford, Earl of Stafford")
    son, father = PredictedEntity((Span(0, 2),), "PER", 0.9), PredictedEntity((Span(7, 14),), "PER", 0.9)
    father_of = (PredictedRelation(0, 1, "P22", 0.8),)
    resolved = resolve_document(parsed, Extraction(parsed.text, (son, father), father_of))
    assert [(e.key, e.aliases) for e in resolved.entities] == [
        ("Humphrey Stafford, Earl of Stafford", ("Humphrey Stafford",)),
        ("Humphrey Stafford , 1st Duke of Buckingham", ()),
    ]
    assert [(r.head, r.tail, r.label) for r in resolved.relations] == [(0, 1, "P22")]
    text = "Humphrey Stafford , 1st Duke of Buckingham fought . Humphrey Stafford died ."
    parsed = parsed_document(text, "Humphrey Stafford, 1st Duke of Buckingham")  # in his own passage
    duke, short = PredictedEntity((Span(0, 7),), "PER", 0.9), PredictedEntity((Span(9, 11),), "PER", 0.9)
    resolved = resolve_document(parsed, Extraction(parsed.text, (duke, short), ()))
    assert [e.mentions for e in resolved.entities] == [(Span(0, 7), Span(9, 11))]  # both name the title: one


def test_a_lone_surname_of_the_passage_subject_joins_the_subject_even_when_related_to_it():
    text = "Hugo Rafael Chávez Frías was president . Born in Sabaneta , Chávez became an officer ."
    parsed = parsed_document(text, "Hugo Chávez")
    full, town, short = (
        PredictedEntity((span,), t, 0.9)
        for span, t in ((Span(0, 4), "PER"), (Span(9, 10), "LOC"), (Span(11, 12), "PER"))
    )
    relations = (PredictedRelation(2, 1, "P19", 0.6), PredictedRelation(0, 2, "P40", 0.55))  # a misread "child"
    resolved = resolve_document(parsed, Extraction(parsed.text, (full, town, short), relations))
    assert [(e.key, e.mentions) for e in resolved.entities] == [
        ("Hugo Chávez", (Span(0, 4), Span(11, 12))),
        ("Sabaneta", (Span(9, 10),)),
    ]
    assert [(r.head, r.tail, r.label) for r in resolved.relations] == [(0, 1, "P19")]


def test_a_lone_surname_is_the_subject_where_the_passage_never_names_them_in_full():
    parsed = parsed_document("Born in Fukuoka , Hamasaki moved to Tokyo .", "Ayumi Hamasaki")
    town, singer = PredictedEntity((Span(2, 3),), "LOC", 0.9), PredictedEntity((Span(4, 5),), "PER", 0.9)
    resolved = resolve_document(parsed, Extraction(parsed.text, (town, singer), (PredictedRelation(1, 0, "P19", 0.7),)))
    assert [(e.key, e.aliases) for e in resolved.entities] == [("Fukuoka", ()), ("Ayumi Hamasaki", ("Hamasaki",))]


def test_a_lone_surname_joins_the_subject_named_in_full_beside_a_relative_of_that_name():
    text = "Betty Bowes married Thomas David Bowes . Bowes won ."
    parsed = parsed_document(text, "Betty Bowes")
    betty, thomas, short = (PredictedEntity((span,), "PER", 0.9) for span in (Span(0, 2), Span(3, 6), Span(7, 8)))
    resolved = resolve_document(parsed, Extraction(parsed.text, (betty, thomas, short), ()))
    assert [(e.key, e.mentions) for e in resolved.entities] == [
        ("Betty Bowes", (Span(0, 2), Span(7, 8))),
        ("Thomas David Bowes", (Span(3, 6),)),
    ]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # another Ford in a passage that never names its subject in full
        ("Henry Ford and Clara Ford had a son . Ford was rich .", "Edsel Ford"),
        ("The Battle of Hastings was won . Hastings fell .", "Battle of Hastings"),  # a title that is no name
    ],
)
def test_a_lone_surname_stays_apart_when_it_may_name_someone_else(text, title):
    parsed = parsed_document(text, title)
    words = text.split()
    spans = [
        Span(i, i + 2) for i in range(len(words) - 1) if " ".join(words[i : i + 2]) in ("Henry Ford", "Clara Ford")
    ]
    spans += [Span(i, i + 1) for i, w in enumerate(words) if w in ("Ford", "Hastings") and i and words[i - 1] in (".",)]
    entities = tuple(PredictedEntity((span,), "PER", 0.9) for span in spans)
    resolved = resolve_document(parsed, Extraction(parsed.text, entities, ()))
    assert len(resolved.entities) == len(entities)
    lone = next(word for word in ("Ford", "Hastings") if f". {word} " in text)
    assert [e.label for e in resolved.entities if e.label == lone] == [lone]  # not keyed by the title
