import math
from types import SimpleNamespace

from kgbuild.extraction.calibrate import calibrate
from kgbuild.extraction.model import ExtractorConfig
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

TEXT = TokenizedText(("Ann", "met", "Bob", "in", "Rome"))
ENTITIES = (
    EntityAnnotation((Span(0, 1),), "Peop"),
    EntityAnnotation((Span(2, 3),), "Peop"),
    EntityAnnotation((Span(4, 5),), "Loc"),
)
DEV = [Example(TEXT, ENTITIES, (RelationAnnotation(0, 2, "Live_In"),))]


class FakeExtractor:
    """Returns a right relation at raw margin 1.0 and a wrong one at 0.5, like a real model would."""

    def __init__(self):
        self.model = SimpleNamespace(config=ExtractorConfig(("Loc", "Peop"), ("Live_In", "Kill")))

    def extract(self, texts, gold_entities=None, batch_size=32):
        threshold = self.model.config.relation_threshold
        entities = tuple(PredictedEntity(e.mentions, e.type, 1.0) for e in ENTITIES)

        def relation(head, tail, label, margin):
            return PredictedRelation(head, tail, label, 1 / (1 + math.exp(-(margin - threshold))))

        relations = (relation(0, 2, "Live_In", 1.0), relation(1, 2, "Live_In", 0.5))
        return [Extraction(TEXT, entities, relations) for _ in texts]


def test_calibration_picks_the_smallest_offset_that_maximises_dev_f1():
    extractor = FakeExtractor()
    report = calibrate(extractor, DEV, DEV, "end_to_end")
    assert report["dev_f1_at_0"] == 66.67
    assert report["dev_f1"] == 100.0
    assert report["relation_threshold"] == 0.5
    assert extractor.model.config.relation_threshold == 0.5
    assert extractor.model.config.relation_signatures == (("Live_In", "Peop", "Loc"),)
