import json
import math

import pytest
import torch

from kgbuild.errors import LabelError, ModelLoadError
from kgbuild.extraction.extractor import RelationExtractor, chunk_bounds
from kgbuild.extraction.features import encode_words
from kgbuild.extraction.losses import class_weights, evidence_loss, threshold_loss
from kgbuild.extraction.model import all_pairs, build_model, load_model, mention_table, save_model
from kgbuild.records import EntityAnnotation, Span, TokenizedText


@pytest.fixture()
def extractor(tiny_config):
    torch.manual_seed(0)
    model, tokenizer = build_model(tiny_config)
    return RelationExtractor(model.eval(), tokenizer)


def test_text_longer_than_one_window_is_encoded_whole(extractor):
    words = ["rome", "is", "in", "lazio", "province", "and"] * 10  # 60 words, windows of 14 pieces
    encoded = encode_words(extractor.tokenizer, words)
    states, mask = extractor.model.encode([encoded])
    assert states.shape[:2] == (1, 60)
    assert bool(mask.all())
    assert torch.count_nonzero(states[0].abs().sum(-1)) == 60  # no word left without a state


def test_threshold_loss_is_small_when_gold_beats_threshold_and_large_otherwise():
    labels = torch.tensor([[0.0, 1.0, 0.0]])
    good = threshold_loss(torch.tensor([[0.0, 5.0, -5.0]]), labels)
    bad = threshold_loss(torch.tensor([[0.0, -5.0, 5.0]]), labels)
    assert good < 0.05 < 5.0 < bad


def test_all_pairs_are_ordered_and_distinct():
    assert all_pairs(3).tolist() == [[0, 1], [0, 2], [1, 0], [1, 2], [2, 0], [2, 1]]
    assert all_pairs(1).shape == (0, 2)


def test_save_and_load_round_trip_gives_the_same_predictions(extractor, tmp_path):
    text = TokenizedText(("Ann", "works", "for", "Acme", "in", "Rome", "."))
    gold = [(EntityAnnotation((Span(0, 1),), "Peop"), EntityAnnotation((Span(3, 4),), "Org"))]
    save_model(extractor.model, tmp_path / "model")
    loaded = RelationExtractor.load(tmp_path / "model")
    with torch.inference_mode():
        before = extractor.model.encode([encode_words(extractor.tokenizer, text.tokens)])[0]
        after = loaded.model.encode([encode_words(loaded.tokenizer, text.tokens)])[0]
    assert torch.allclose(before, after, atol=2e-2)  # encoder weights are stored in fp16
    assert loaded.config == extractor.config
    assert loaded.version.startswith("0+") and len(loaded.version) == 14  # config version + weights digest
    assert [r.label for r in loaded.extract([text], gold_entities=gold)[0].relations] == [
        r.label for r in extractor.extract([text], gold_entities=gold)[0].relations
    ]


def test_lora_model_saves_only_adapters_and_loads(tiny_config, tmp_path):
    from dataclasses import replace

    model, _ = build_model(replace(tiny_config, lora_rank=4))
    out = save_model(model, tmp_path / "lora")
    loaded, _ = load_model(out)
    assert loaded.config.lora_rank == 4
    from safetensors.torch import load_file

    assert all("lora_" in key for key in load_file(str(out / "encoder.safetensors")))


def test_incomplete_model_directory_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=r"missing encoder\.safetensors, heads\.safetensors"):
        load_model(tmp_path)


def test_a_config_edited_out_of_step_with_the_weights_is_a_clear_error(extractor, tmp_path):
    out = save_model(extractor.model, tmp_path / "model")
    config = json.loads((out / "config.json").read_text())
    config["relation_types"] = config["relation_types"][:-1]  # one label fewer than the head was trained for
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"model: head weights do not match its config \(Error"):
        load_model(out)


def test_failed_save_leaves_existing_model_untouched(extractor, tmp_path, monkeypatch):
    out = save_model(extractor.model, tmp_path / "model")
    before = (out / "heads.safetensors").read_bytes()
    import kgbuild.extraction.model as model_module

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model_module.os, "replace", explode)
    with pytest.raises(OSError, match="disk full"):
        save_model(extractor.model, out, {"metrics.json": "{}"})
    assert (out / "heads.safetensors").read_bytes() == before
    assert not (out / "metrics.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_empty_text_gives_a_warning_not_a_crash(extractor):
    result = extractor.extract([TokenizedText(())])[0]
    assert result.entities == () and result.warnings == ("empty text",)


def test_unknown_gold_entity_type_is_a_label_error(extractor):
    text = TokenizedText(("Ann", "and", "Bob"))
    gold = [(EntityAnnotation((Span(0, 1),), "Wizard"), EntityAnnotation((Span(2, 3),), "Peop"))]
    with pytest.raises(LabelError, match="'Wizard' is unknown to the model"):
        extractor.extract([text], gold_entities=gold)


def test_chunks_pack_whole_sentences_and_cut_only_overlong_ones(extractor):
    words = ["rome", "is", "in", "lazio", "."] * 3 + ["and"] * 30
    encoded = encode_words(extractor.tokenizer, words)
    bounds = chunk_bounds(encoded, (0, 5, 10, 15), content=14)
    assert bounds[0] == (0, 10)  # two 5-piece sentences fit, a third does not
    assert [w for start, end in bounds for w in range(start, end)] == list(range(len(words)))
    assert all(encoded.word_starts[e - 1] - encoded.word_starts[s] < 14 for s, e in bounds)


def test_a_100000_word_document_is_extracted_in_chunks(tiny_config):
    from dataclasses import replace

    torch.manual_seed(0)
    model, tokenizer = build_model(replace(tiny_config, max_length=64))
    with torch.no_grad():  # an untrained head calls every span an entity; keep the test about length
        model.entity_classifier[-1].bias[0] = 4.0
    words = tuple(["Rome", "is", "in", "Lazio", "."] * 20_000)
    starts = tuple(range(0, len(words), 5))
    result = RelationExtractor(model, tokenizer).extract([TokenizedText(words, starts)], batch_size=256)[0]
    assert all(0 <= m.start < m.end <= len(words) for e in result.entities for m in e.mentions)
    assert all(r.head < len(result.entities) and r.tail < len(result.entities) for r in result.relations)


def test_relations_outside_the_learned_type_signatures_are_not_predicted(tiny_config):
    from dataclasses import replace

    text = TokenizedText(("Ann", "works", "for", "Acme", "."))
    gold = [(EntityAnnotation((Span(0, 1),), "Peop"), EntityAnnotation((Span(3, 4),), "Org"))]
    torch.manual_seed(0)
    free, tokenizer = build_model(tiny_config)
    with torch.no_grad():
        free.relation_classifier.bias[0] = -100.0  # every label beats the threshold
    found = RelationExtractor(free.eval(), tokenizer).extract([text], gold_entities=gold)[0].relations
    assert len(found) == 2 * len(tiny_config.relation_types)
    free.config = replace(tiny_config, relation_signatures=(("Work_For", "Peop", "Org"),))
    found = RelationExtractor(free, tokenizer).extract([text], gold_entities=gold)[0].relations
    assert [(r.head, r.tail, r.label) for r in found] == [(0, 1, "Work_For")]


def test_a_lower_relation_floor_adds_candidates_below_the_decision_and_keeps_the_rest(tiny_model: str) -> None:
    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.extractor import RelationExtractor
    from tests.conftest import DATA

    extractor = RelationExtractor.load(tiny_model)
    texts = [example.text for example in read_examples(DATA / "conll04_test_slice.json")[:20]]
    decided = extractor.extract(texts)
    extractor.relation_floor = 0.05
    candidates = extractor.extract(texts)
    for strict, loose in zip(decided, candidates, strict=True):
        assert strict.entities == loose.entities
        assert set(strict.relations) <= set(loose.relations)
        assert all(r.confidence >= 0.5 for r in strict.relations)
        assert all(r.confidence >= 0.05 for r in loose.relations)
    assert sum(len(e.relations) for e in candidates) > sum(len(e.relations) for e in decided)
    with pytest.raises(ValueError, match="relation_floor"):
        RelationExtractor(extractor.model, extractor.tokenizer, relation_floor=1.0)


def test_a_converse_lifts_the_pair_read_the_other_way_and_nothing_else() -> None:
    from kgbuild.extraction.extractor import converse_margins

    pairs = all_pairs(3).tolist()
    margin = torch.full((len(pairs), 2), -5.0)  # columns: 0 father, 1 child
    margin[pairs.index([1, 0]), 0] = 2.0  # 1's father is 0 ...
    lifted = converse_margins(margin, 3, [(0, 1)])  # ... so 0's child is 1
    assert lifted[pairs.index([0, 1]), 1] == 2.0
    changed = (lifted != margin).nonzero().tolist()
    assert changed == [[pairs.index([0, 1]), 1]]
    assert converse_margins(margin, 3, []) is margin
    symmetric = converse_margins(margin, 3, [(0, 0)])  # a label its own converse: both ways alike
    assert symmetric[pairs.index([0, 1]), 0] == symmetric[pairs.index([1, 0]), 0] == 2.0


def test_class_weights_lift_rare_labels_and_leave_the_most_frequent_at_one():
    weights = class_weights([1000, 100, 30, 0, 1], beta=0.99)
    assert weights[0] == 1.0 and weights[1] == pytest.approx(1.0)  # threshold column, most frequent label
    assert 1.0 < weights[2] < weights[3] < 10.0  # rarer weighs more
    assert weights[4] == 1.0  # a label without examples
    assert weights[5] == 10.0  # a label seen once: capped (uncapped it would be about 100)
    with pytest.raises(ValueError, match="beta"):
        class_weights([3], beta=1.0)


def test_a_weighted_gold_relation_costs_more_when_it_falls_below_the_threshold():
    labels = torch.tensor([[0.0, 0.0, 1.0]])
    missed = torch.tensor([[0.0, 0.0, -2.0]])  # the gold relation 2 is below the threshold
    plain = threshold_loss(missed, labels)
    weighted = threshold_loss(missed, labels, torch.tensor([1.0, 1.0, 3.0]))
    other = threshold_loss(missed, labels, torch.tensor([1.0, 3.0, 1.0]))  # only the gold label's weight counts
    assert float(weighted) > float(plain)
    assert float(other) == pytest.approx(float(plain))


def test_evidence_loss_is_the_divergence_from_uniform_evidence_by_hand():
    attention = torch.tensor([[0.5, 0.25, 0.25, 0.0], [0.1, 0.1, 0.8, 0.0]])
    sentence = torch.tensor([0, 0, 1, 2])  # the last word is padding
    # pair 0: evidence sentence 1 holds 0.25 of its attention -> KL = log(1 / 0.25); pair 1 has none
    assert float(evidence_loss(attention, {0: [1], 1: []}, sentence)) == pytest.approx(math.log(4))
    # two evidence sentences, 0.5 each against 0.75 / 0.25: KL = 0.5 log(0.5/0.75) + 0.5 log(0.5/0.25)
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(2)
    assert float(evidence_loss(attention, {0: [0, 1]}, sentence)) == pytest.approx(expected)
    on_evidence = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    assert float(evidence_loss(on_evidence, {0: [1, 1]}, sentence)) == pytest.approx(0.0, abs=1e-6)
    assert float(evidence_loss(attention, {}, sentence)) == 0.0


def test_pronouns_are_read_as_mentions_of_the_first_person_only_when_asked(tiny_config):
    from dataclasses import replace

    tokens = [
        "Paris",
        ".",
        "Ada",
        "Lovelace",
        "met",
        "Charles",
        "Babbage",
        ".",
        "She",
        "was",
        "the",
        "daughter",
        "of",
        "Byron",
        ".",
        "his",
    ]
    entities = (
        EntityAnnotation((Span(0, 1),), "LOC"),
        EntityAnnotation((Span(2, 4),), "PER"),  # the first person: the subject the pronouns refer to
        EntityAnnotation((Span(5, 7),), "PER"),
        EntityAnnotation((Span(13, 14),), "PER"),
    )
    spans, owner = mention_table(entities, tokens, tiny_config)
    assert spans.tolist() == [[0, 1], [2, 4], [5, 7], [13, 14]] and owner.tolist() == [0, 1, 2, 3]
    spans, owner = mention_table(entities, tokens, replace(tiny_config, pronoun_mentions=True))
    assert spans.tolist()[4:] == [[8, 9], [15, 16]] and owner.tolist()[4:] == [1, 1]  # "She", "his"
    places = entities[:1]
    assert mention_table(places, tokens, replace(tiny_config, pronoun_mentions=True))[0].tolist() == [[0, 1]]
