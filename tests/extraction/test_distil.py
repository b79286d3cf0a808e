"""A teacher's soft targets teach a student of another architecture; the CLI wires it, resumable."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kgbuild.extraction.distil import Distillation, load_targets, pseudo_label, save_targets, soft_loss, teach
from kgbuild.extraction.extractor import RelationExtractor
from kgbuild.extraction.model import all_pairs
from kgbuild.extraction.train import TrainSettings, train

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture()
def teacher(tiny_model):  # type: ignore[no-untyped-def]
    return RelationExtractor.load(tiny_model)


def _student_loss(student, examples, targets):  # type: ignore[no-untyped-def]
    import torch

    from kgbuild.extraction.distil import pair_logits
    from kgbuild.extraction.features import encode_words

    student.eval()
    with torch.inference_mode():
        words, mask = student.encode([encode_words(student.tokenizer_, x.text.tokens) for x in examples])
        parts = student.span_parts(words)
        logits, valid = student.span_logits(parts, mask)
        pairs = pair_logits(student, examples, words, mask, parts)
        return float(soft_loss(logits, valid, pairs, targets, len(examples)))


def test_the_teacher_scores_every_span_and_entity_pair(teacher, tiny_examples):
    targets = teach(teacher, tiny_examples)
    for example, target in zip(tiny_examples, targets, strict=True):
        words, width, classes = target.span_log_probs.shape
        assert (words, width, classes) == (len(example.text.tokens), 4, len(teacher.config.entity_types) + 1)
        assert target.margins.shape == (len(all_pairs(len(example.entities))), len(teacher.config.relation_types))
    pseudo = pseudo_label(teacher, [x.text for x in tiny_examples])
    assert [x.text for x in pseudo] == [x.text for x in tiny_examples]
    assert all(r.head < len(x.entities) and r.tail < len(x.entities) for x in pseudo for r in x.relations)


def test_a_student_of_another_architecture_moves_towards_its_teacher(teacher, tiny_mpnet, tiny_examples, tmp_path):
    targets = teach(teacher, tiny_examples)
    labels = teacher.config
    config = replace(labels, base_model=tiny_mpnet, relation_signatures=(), relation_threshold=0.0, name="student")
    settings = TrainSettings(epochs=4, batch_size=4, encoder_lr=3e-3, head_lr=3e-3, warmup=0.0, seed=4)
    distances = []
    for weight in (0.0, 5.0):  # the same run but for the teacher's weight; no dev: the last epoch is kept
        out = tmp_path / f"student-{weight}"
        distil = Distillation(weight=weight, temperature=2.0)
        metrics = train(tiny_examples, [], out, config, settings, False, soft_targets=targets, distillation=distil)
        assert metrics["distillation"] == {"weight": weight, "temperature": 2.0, "gold_floor": None}
        assert metrics["config"]["relation_types"] == list(labels.relation_types)  # the teacher's labels, kept
        student = RelationExtractor.load(out)
        student.model.tokenizer_ = student.tokenizer
        distances.append(_student_loss(student.model, tiny_examples, targets))
    assert distances[1] < 0.7 * distances[0]


def test_a_gold_floor_stops_the_teacher_arguing_against_a_gold_relation():
    import torch

    from kgbuild.extraction.distil import SoftTargets

    # One text of two words and two entities: two ordered pairs, two relations. The teacher is sure
    # that nothing holds; the gold labels say that relation 1 holds from entity 0 to entity 1.
    spans = torch.zeros(2, 1, 3)
    target = SoftTargets(spans.log_softmax(-1).half(), torch.full((2, 2), -6.0).half())
    gold = torch.zeros(2, 3)
    gold[0, 2] = 1
    student = torch.zeros(2, 3, requires_grad=True)  # (pairs, threshold + relations): every margin 0
    valid = torch.ones(1, 2, 1, dtype=torch.bool)

    def pull(**floor: object) -> torch.Tensor:
        student.grad = None
        soft_loss(spans[None], valid, [student], [target], 1, 2.0, **floor).backward()  # type: ignore[arg-type]
        return student.grad[:, 2]  # d loss / d margin of relation 1 (logit 2 minus the threshold logit 0)

    as_taught, floored = pull(), pull(gold=[gold], gold_floor=2.0)
    assert as_taught[0] > 0  # the teacher alone pushes the gold relation's margin down
    assert floored[0] < 0  # with the floor, up: its target is now sigmoid(2 / 2)
    assert floored[1] == pytest.approx(float(as_taught[1]))  # a pair without gold relations is taught as before


def test_pseudo_labels_train_the_student_but_do_not_decide_its_type_signatures(teacher, tiny_examples, tmp_path):
    from kgbuild.extraction.datasets import relation_signatures
    from kgbuild.records import RelationAnnotation

    gold = list(tiny_examples)
    labels = teacher.config
    first = next(x for x in gold if len(x.entities) >= 2)
    head, tail = first.entities[1].type, first.entities[0].type
    seen = set(relation_signatures(gold))
    label = next(k for k in labels.relation_types if (k, head, tail) not in seen)
    odd = replace(first, relations=(RelationAnnotation(1, 0, label),))  # a pseudo-label no gold text has
    examples = [*gold, odd]
    targets = teach(teacher, examples)
    config = replace(labels, relation_signatures=(), relation_threshold=0.0, name="student")
    settings = TrainSettings(epochs=1, batch_size=4, seed=4)
    signatures = []
    for pseudo in (0, 1):
        out = tmp_path / f"student-{pseudo}"
        metrics = train(examples, [], out, config, settings, soft_targets=targets, pseudo_labelled=pseudo)
        signatures.append({tuple(s) for s in metrics["config"]["relation_signatures"]})
    unseen = (label, head, tail)
    assert unseen in signatures[0]
    assert unseen not in signatures[1]
    assert signatures[1] == signatures[0] - {unseen}


def test_copies_and_pseudo_labels_train_but_only_the_originals_calibrate(teacher, tiny_examples, tmp_path):
    """Originals, then renamed copies, then pseudo-labelled texts: the copies' and pseudo-labels' facts do not count."""
    from kgbuild.records import RelationAnnotation

    both_ways = (RelationAnnotation(0, 1, "Located_In"), RelationAnnotation(1, 0, "Located_In"))  # a teacher's label
    pairs = [replace(x, relations=both_ways) for x in tiny_examples if len(x.entities) >= 2]
    odd = replace(pairs[0], relations=(RelationAnnotation(0, 1, "Live_In"),))  # a pseudo-label no gold text has
    examples = [*pairs, *pairs, *pairs, odd]  # 8 triples in the originals; 24 with the copies
    targets = teach(teacher, examples)
    config = replace(teacher.config, relation_signatures=(), relation_threshold=0.0, name="student")
    settings = TrainSettings(epochs=1, batch_size=4, seed=4)
    calibrated = []
    for augmented in (0, 2 * len(pairs)):
        out = tmp_path / f"student-{augmented}"
        metrics = train(
            examples, [], out, config, settings, soft_targets=targets, pseudo_labelled=1, augmented=augmented
        )
        labels = {s[0] for s in metrics["config"]["relation_signatures"]}
        calibrated.append((labels, metrics["config"]["relation_converses"]))
    assert calibrated == [({"Located_In"}, [["Located_In", "Located_In"]]), ({"Located_In"}, [])]


def test_a_teacher_run_refuses_an_interrupted_run_before_it_reads_a_text(tiny_model, tmp_path):
    from typer.testing import CliRunner

    from kgbuild.cli import app
    from kgbuild.extraction.checkpoint import state_dir

    out = tmp_path / "student"
    state_dir(out).mkdir(parents=True)
    (state_dir(out) / "state.pt").write_bytes(b"an interrupted run's state")
    args = ["train", "--data", str(DATA / "conll04_tiny.json"), "--holdout", "1", "--epochs", "1"]
    result = CliRunner().invoke(app, [*args, "--teacher", tiny_model, "--out", str(out)])
    assert result.exit_code == 2 and "an interrupted run" in result.output and "--resume" in result.output
    assert sorted(p.name for p in state_dir(out).iterdir()) == ["state.pt"]  # no teacher cache written over it


def test_soft_targets_round_trip_through_their_cache(teacher, tiny_examples, tmp_path):
    targets = teach(teacher, tiny_examples)
    save_targets(tmp_path / "teacher.pt", tiny_examples, targets)
    examples, loaded = load_targets(tmp_path / "teacher.pt")
    assert examples == list(tiny_examples)
    assert all((a.margins == b.margins).all() for a, b in zip(targets, loaded, strict=True))


def test_cli_distils_on_labelled_and_unlabelled_text(teacher, tiny_model, tiny_mpnet, tmp_path):
    from typer.testing import CliRunner

    from kgbuild.cli import app

    corpus = tmp_path / "unlabelled.jsonl"
    lines = ["John Smith works for Acme in Boston .", "Mary Jones lives in Paris .", "Acme is based in Boston ."]
    corpus.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(lines)))
    args = ["train", "--data", str(DATA / "conll04_tiny.json"), "--holdout", "1", "--base-model", tiny_mpnet]
    args += ["--epochs", "1", "--teacher", tiny_model, "--unlabelled", str(corpus), "--unlabelled-limit", "2"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "student")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert metrics["train_examples"] == 3 + 2  # the labelled sentences and two pseudo-labelled documents
    assert metrics["config"]["entity_types"] == list(teacher.config.entity_types)


def test_an_ensemble_of_teachers_mixes_span_distributions_and_averages_margins():
    import torch

    from kgbuild.extraction.distil import SoftTargets, average_targets

    sure = torch.tensor([[[0.9, 0.1]], [[0.2, 0.8]]]).log().half()  # two words, width 1, two classes
    unsure = torch.tensor([[[0.5, 0.5]], [[0.5, 0.5]]]).log().half()
    first = SoftTargets(sure, torch.tensor([[4.0, -2.0], [0.0, -6.0]]).half())
    second = SoftTargets(unsure, torch.tensor([[-2.0, -2.0], [2.0, -2.0]]).half())
    (mixed,) = average_targets([[first], [second]])
    expected = torch.tensor([[[0.7, 0.3]], [[0.35, 0.65]]])
    assert torch.allclose(mixed.span_log_probs.float().exp(), expected, atol=2e-3)  # still distributions
    assert mixed.margins.tolist() == [[1.0, -2.0], [1.0, -4.0]]
    assert average_targets([[first]])[0] is first  # one teacher: its own targets
    with pytest.raises(ValueError, match="at least one teacher"):
        average_targets([])


def test_an_ensemble_s_targets_are_the_average_of_what_each_teacher_teaches(
    teacher, tiny_model, tiny_config, tiny_examples, tmp_path
):
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from kgbuild.cli_train import _teacher_targets
    from kgbuild.extraction.distil import average_targets

    other = tmp_path / "other-weights"  # the same labels, other relation weights
    shutil.copytree(tiny_model, other)
    heads = load_file(str(other / "heads.safetensors"))
    save_file(
        {k: v * 1.5 if k.startswith("relation") else v for k, v in heads.items()}, str(other / "heads.safetensors")
    )
    examples = list(tiny_examples)
    arguments = {"out": str(tmp_path / "student"), "teacher": [tiny_model, str(other)]}
    _, targets, _ = _teacher_targets(
        {**arguments, "unlabelled": None, "unlabelled_limit": 0}, examples, tiny_config, False
    )
    each = [teach(teacher, examples), teach(RelationExtractor.load(other), examples)]
    assert not torch.equal(each[0][0].margins, each[1][0].margins)
    for got, expected in zip(targets, average_targets(each), strict=True):
        assert torch.equal(got.margins, expected.margins)
        assert torch.equal(got.span_log_probs, expected.span_log_probs)


def test_cli_distils_from_an_ensemble_and_refuses_teachers_of_other_labels(teacher, tiny_model, tiny_bert, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from kgbuild.cli import app

    args = ["train", "--data", str(DATA / "conll04_tiny.json"), "--holdout", "1", "--base-model", tiny_bert]
    args += ["--epochs", "1", "--teacher", tiny_model, "--teacher", tiny_model]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "student")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert metrics["distillation"]["teachers"] == [str(Path(tiny_model).resolve())] * 2

    other = tmp_path / "other-labels"
    shutil.copytree(tiny_model, other)
    config = json.loads((other / "config.json").read_text())
    config["relation_types"][-1] = "P9999"  # as many labels, one of them another
    (other / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(app, [*args[:-1], str(other), "--out", str(tmp_path / "refused")])
    assert result.exit_code != 0
    assert "differ in relation_types" in result.output and str(other) in result.output
    assert not (tmp_path / "refused").exists()  # refused before anything is written
