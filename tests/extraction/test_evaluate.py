from kgbuild.extraction.evaluate import prf, resolved_extractions, score, score_extractions
from kgbuild.records import (
    EntityAnnotation,
    Example,
    Extraction,
    PredictedEntity,
    PredictedRelation,
    RelationAnnotation,
    Span,
    TokenizedText,
)


def test_prf_by_hand():
    assert prf(2, 1, 2) == {"precision": 66.67, "recall": 50.0, "f1": 57.14}
    assert prf(0, 0, 3) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_micro_and_macro_differ_as_computed_by_hand():
    gold = [{(1, "A"), (2, "A"), (3, "B")}]
    predicted = [{(1, "A"), (2, "A"), (4, "B")}]
    report = score(gold, predicted)
    # micro: tp 2, fp 1, fn 1 -> 66.67; macro: A 100, B 0 -> 50
    assert report["micro"]["f1"] == 66.67
    assert report["macro"]["f1"] == 50.0
    assert report["per_label"]["A"]["support"] == 2


def _example():
    text = TokenizedText(("Ann", "works", "for", "Acme", "in", "Rome"))
    entities = (
        EntityAnnotation((Span(0, 1),), "Peop"),
        EntityAnnotation((Span(3, 4),), "Org"),
        EntityAnnotation((Span(5, 6),), "Loc"),
    )
    return Example(text, entities, (RelationAnnotation(0, 1, "Work_For"), RelationAnnotation(1, 2, "OrgBased_In")))


def test_end_to_end_relations_are_strict_about_entity_types():
    example = _example()
    wrong_type = (
        PredictedEntity((Span(0, 1),), "Peop", 0.9),
        PredictedEntity((Span(3, 4),), "Loc", 0.9),  # right span, wrong type
        PredictedEntity((Span(5, 6),), "Loc", 0.9),
    )
    relations = (PredictedRelation(0, 1, "Work_For", 0.8), PredictedRelation(1, 2, "OrgBased_In", 0.7))
    end_to_end = Extraction(example.text, wrong_type, relations)
    gold_given = Extraction(example.text, (), (PredictedRelation(0, 1, "Work_For", 0.8),))
    report = score_extractions([example], [end_to_end], [gold_given])
    assert report["entities"]["micro"] == {"precision": 66.67, "recall": 66.67, "f1": 66.67}
    assert report["relations_end_to_end"]["micro"]["f1"] == 0.0
    assert report["relations_gold_entities"]["micro"] == {"precision": 100.0, "recall": 50.0, "f1": 66.67}


def test_resolution_joins_a_short_form_so_its_relation_scores_as_the_graph_holds_it():
    text = TokenizedText(("Eleazar", "Lipsky", "wrote", ".", "Lipsky", "lived", "in", "Rome"), (0, 4), "Eleazar Lipsky")
    person = EntityAnnotation((Span(0, 2), Span(4, 5)), "PER")
    example = Example(text, (person, EntityAnnotation((Span(7, 8),), "LOC")), (RelationAnnotation(0, 1, "P551"),))
    entities = (
        PredictedEntity((Span(0, 2),), "PER", 0.9),
        PredictedEntity((Span(4, 5),), "PER", 0.8),  # the extractor reads the short form apart
        PredictedEntity((Span(7, 8),), "LOC", 0.9),
    )
    extraction = Extraction(text, entities, (PredictedRelation(1, 2, "P551", 0.7),))
    [resolved] = resolved_extractions([extraction])
    assert [e.mentions for e in resolved.entities] == [(Span(0, 2), Span(4, 5)), (Span(7, 8),)]
    assert score_extractions([example], [extraction], None)["relations_end_to_end"]["micro"]["f1"] == 0.0
    assert score_extractions([example], [resolved], None)["relations_end_to_end"]["micro"]["f1"] == 100.0
