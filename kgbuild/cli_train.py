"""The ``kgbuild`` commands that train and score extractors: ``train``, ``calibrate`` and ``evaluate``.

Registered on the command line in `kgbuild.cli`; thin wrappers over `kgbuild.extraction`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from kgbuild.cli_options import fail
from kgbuild.errors import KgBuildError
from kgbuild.records import Example
from kgbuild.settings import DEFAULT_BASE_MODEL

# Options shared by train and calibrate.
DevFile = Annotated[Path | None, typer.Option("--dev", help="Dev file for early stopping and calibration.")]
Holdout = Annotated[int, typer.Option(help="Without --dev: hold out the last N training examples as dev.")]
Metric = Annotated[str, typer.Option(help="Dev metric: auto, end_to_end, gold_entities or mean (of the two).")]
TypeConstraints = Annotated[
    bool, typer.Option(help="Predict relations only between entity types seen with them in training.")
]


def train_command(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Training file (CoNLL04 JSON/JSONL or Re-DocRED JSON); repeat to join several."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model directory to write.")] = None,
    dev: DevFile = None,
    holdout: Holdout = 0,
    no_dev: Annotated[
        bool,
        typer.Option(
            "--no-dev",
            help="Train exactly --epochs on all the data and keep the last weights: the final model once "
            "the recipe was chosen on dev (no early stopping, learned threshold).",
        ),
    ] = False,
    base_model: Annotated[
        str,
        typer.Option(help="Base encoder: the packaged default, all-mpnet-base-v2, or a local BERT/MPNet directory."),
    ] = DEFAULT_BASE_MODEL,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    batch_size: Annotated[int, typer.Option(help="Examples per step.")] = 8,
    encoder_lr: Annotated[float, typer.Option(help="Encoder learning rate (x10 with --lora).")] = 1e-4,
    head_lr: Annotated[float, typer.Option(help="Head learning rate.")] = 5e-4,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without a dev gain.")] = 8,
    max_span_width: Annotated[int, typer.Option(help="Longest entity span, in words.")] = 10,
    max_length: Annotated[int, typer.Option(help="Encoder window in word pieces, special tokens included.")] = 512,
    metric: Metric = "auto",
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters instead of the whole encoder.")] = False,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank with --lora.")] = 16,
    train_layers: Annotated[
        int, typer.Option(help="Fine-tune only the top N encoder layers, the rest frozen (0: all).")
    ] = 0,
    cache_frozen: Annotated[
        str,
        typer.Option(
            help="With --train-layers: run the frozen lower layers once (eval mode: no dropout in them), keep "
            "their states in OUT.training/ as float32 or float16, and train the top layers from them (off: "
            "run them every step)."
        ),
    ] = "off",
    pair_features: Annotated[
        str, typer.Option(help="Relation-head inputs: attention, or attention+between (adds between-mention context).")
    ] = "attention+between",
    class_balance: Annotated[
        float,
        typer.Option(
            help="Class-balanced relation loss: weigh a gold relation by its label's rarity, with this "
            "effective-number beta (e.g. 0.995; 0: off)."
        ),
    ] = 0.0,
    pronoun_mentions: Annotated[
        bool,
        typer.Option(
            "--pronoun-mentions",
            help="Documents: read each personal pronoun as a mention of the text's first person entity, in the "
            "relation head only (kept in the model's config; with --init, turns it on).",
        ),
    ] = False,
    swap_names: Annotated[
        int,
        typer.Option(
            min=0,
            help="Add this many copies of each training document with its persons' and organisations' names "
            "swapped for other documents' (seeded by --seed): the same contexts, other names (0: off).",
        ),
    ] = 0,
    swap_types: Annotated[
        str, typer.Option(help="With --swap-names: the entity types renamed, comma-separated.")
    ] = "PER,ORG",
    evidence_weight: Annotated[
        float,
        typer.Option(
            help="Evidence supervision (DREEAM): draw each pair's attention onto the sentences the data gives "
            "as evidence (Re-DocRED), with this loss weight (e.g. 0.1; 0: off)."
        ),
    ] = 0.0,
    threads: Annotated[int, typer.Option(help="Torch threads (0: torch's default).")] = 0,
    name: Annotated[str, typer.Option(help="Model name recorded in its config and provenance.")] = "",
    type_constraints: TypeConstraints = True,
    ema: Annotated[
        float, typer.Option(help="Keep and score a moving average of the weights with this decay per step (0: off).")
    ] = 0.0,
    init: Annotated[
        Path | None,
        typer.Option(
            help="Continue training this model directory (its labels and encoder) instead of starting from "
            "--base-model: e.g. a shipped model on more annotated documents."
        ),
    ] = None,
    teacher: Annotated[
        list[Path] | None,
        typer.Option(
            help="Distil this trained model (e.g. an MPNet extractor) into the one trained here: its span and "
            "relation scores are soft targets next to the gold labels, and the student keeps its labels. "
            "Repeat for an ensemble: its members' span distributions are mixed and their relation margins "
            "averaged; the first labels the unlabelled corpora."
        ),
    ] = None,
    unlabelled: Annotated[
        list[Path] | None,
        typer.Option(
            help="With --teacher: a corpus (JSON Lines, CSV or folder) the teacher labels for the student; repeat."
        ),
    ] = None,
    unlabelled_limit: Annotated[int, typer.Option(help="At most this many documents of each corpus (0: all).")] = 0,
    distil_weight: Annotated[float, typer.Option(help="Weight of the teacher's soft targets.")] = 1.0,
    temperature: Annotated[float, typer.Option(help="Distillation temperature.")] = 2.0,
    gold_floor: Annotated[
        float | None,
        typer.Option(
            help="With --teacher: raise the teacher's margin for a gold relation to at least this (logits), so "
            "that its soft targets never argue against the gold labels (unset: the teacher's as they are)."
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue the interrupted run that trains this model directory after its last finished epoch, "
            "with that run's arguments (other options are not needed, --threads may change)."
        ),
    ] = None,
) -> None:
    """Fine-tune the joint entity and relation extractor (checkpointed every epoch; see --resume)."""
    from kgbuild.extraction.checkpoint import read_run_arguments

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    arguments = {k: v for k, v in locals().items() if k not in ("resume", "read_run_arguments")}
    try:
        if resume is not None:
            if data or (out is not None and out.resolve() != resume.resolve()):
                raise fail("--resume takes the interrupted run's own arguments: give it without --data and --out")
            saved = read_run_arguments(resume)
            arguments = {**saved, "threads": threads or saved.get("threads", 0)}
        elif not data or out is None:
            raise fail("give --data and --out (or --resume OUT_DIR to continue an interrupted run)")
        metrics = _train(arguments, resume=resume is not None)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    summary = {"model": str(arguments["out"]), "best_epoch": metrics["best_epoch"]}
    summary["train_seconds"] = metrics["train_seconds"]
    if dev_report := metrics["dev"]:
        summary |= {
            "dev_relations_end_to_end": dev_report["relations_end_to_end"]["micro"],
            "dev_relations_gold_entities": dev_report["relations_gold_entities"]["micro"],
            "dev_entities": dev_report["entities"]["micro"],
        }
    typer.echo(json.dumps(summary))


def _optional_path(value: str | Path | None) -> Path | None:
    return Path(value) if value is not None else None


def _train(arguments: dict[str, Any], resume: bool) -> dict[str, Any]:
    """Train from the train command's arguments (as given, or as an interrupted run recorded them)."""
    from kgbuild.extraction.checkpoint import refuse_interrupted
    from kgbuild.extraction.distil import Distillation
    from kgbuild.extraction.model import ExtractorConfig
    from kgbuild.extraction.train import TrainSettings, train

    a = {
        "teacher": None,
        "unlabelled": None,
        "unlabelled_limit": 0,
        "distil_weight": 1.0,
        "temperature": 2.0,
        "gold_floor": None,
        "cache_frozen": "off",
        "class_balance": 0.0,
        "evidence_weight": 0.0,
        "pronoun_mentions": False,
        "swap_names": 0,
        "swap_types": "PER,ORG",
        **arguments,
    }
    settings = TrainSettings(
        epochs=a["epochs"],
        batch_size=a["batch_size"],
        encoder_lr=a["encoder_lr"],
        head_lr=a["head_lr"],
        patience=a["patience"],
        seed=a["seed"],
        metric=a["metric"],
        threads=a["threads"] or None,
        ema=a["ema"],
        cache_frozen="" if a["cache_frozen"] == "off" else a["cache_frozen"],
        class_balance=a["class_balance"],
        evidence_weight=a["evidence_weight"],
    )
    if a["no_dev"] and (a["dev"] is not None or a["holdout"]):
        raise fail("--no-dev excludes --dev and --holdout")
    examples = _read_files(a["data"])
    dev_file = _optional_path(a["dev"])
    examples, dev_examples = (examples, []) if a["no_dev"] else _dev_split(examples, dev_file, a["holdout"])
    augmented = 0
    if a["swap_names"]:
        from kgbuild.extraction.augment import swap_names

        types = [kind.strip() for kind in a["swap_types"].split(",") if kind.strip()]
        if not types:
            raise fail(f"--swap-types names no entity type, got {a['swap_types']!r}")
        known = {entity.type for example in examples for entity in example.entities}
        if unknown := [kind for kind in types if kind not in known]:
            listed = ", ".join(sorted(known))
            raise fail(f"--swap-types {','.join(unknown)}: no such entity type in the training data ({listed})")
        copies = swap_names(examples, a["swap_names"], a["seed"], types)
        augmented = len(copies)
        logging.info("names swapped: %d copies of %d training documents", len(copies), len(examples))
        examples = [*examples, *copies]
    out = Path(a["out"])
    if not resume:  # before any long step (a teacher pass would overwrite an interrupted run's cache)
        refuse_interrupted(out)
    config = ExtractorConfig(
        (),
        (),
        base_model=a["base_model"],
        max_length=a["max_length"],
        max_span_width=a["max_span_width"],
        lora_rank=a["lora_rank"] if a["lora"] else 0,
        train_layers=a["train_layers"],
        pair_features=a["pair_features"],
        pronoun_mentions=a["pronoun_mentions"],
        name=a["name"] or out.name,
    )
    soft_targets, distillation, labelled = None, None, len(examples)
    if a["teacher"] is not None:
        distillation = Distillation(a["distil_weight"], a["temperature"], a["gold_floor"])
        examples, soft_targets, config = _teacher_targets(a, examples, config, resume)
    # Paths made absolute, so that --resume from another directory reads the same files.
    record = {k: str(Path(v).resolve()) if isinstance(v, Path) else v for k, v in a.items()}
    record["data"] = [str(Path(file).resolve()) for file in a["data"]]
    record["unlabelled"] = [str(Path(file).resolve()) for file in a["unlabelled"] or ()]
    if a["teacher"] is not None:
        record["teacher"] = [str(Path(member).resolve()) for member in _teachers(a["teacher"])]
    return train(
        examples,
        dev_examples,
        out,
        config,
        settings,
        type_constraints=a["type_constraints"],
        init=_optional_path(a["init"]),
        resume=resume,
        run_arguments=record,
        soft_targets=soft_targets,
        distillation=distillation,
        pseudo_labelled=len(examples) - labelled,
        augmented=augmented,
        teachers=record.get("teacher") or (),
    )


def _teacher_targets(
    a: dict[str, Any], examples: list[Example], config: Any, resume: bool
) -> tuple[list[Example], Any, Any]:
    """Label the unlabelled corpora with the (first) teacher and score every training text with each, once.

    Several teachers are an ensemble (`average_targets`), read one at a time; they must share the
    first's labels, checked before any of them reads a text. The result is cached beside the run's
    state (``OUT.training/teacher.pt``), so that a resumed run does not read everything again.
    """
    from dataclasses import replace

    from kgbuild.extraction.checkpoint import state_dir
    from kgbuild.extraction.distil import (
        average_targets,
        check_compatible,
        load_targets,
        pseudo_label,
        save_targets,
        teach,
        unlabelled_texts,
    )
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.model import load_config

    paths = [Path(path) for path in _teachers(a["teacher"])]
    labels = load_config(paths[0])
    for path in paths[1:]:
        check_compatible(labels, load_config(path), f"teachers {paths[0]} and {path}")
    config = replace(
        config,
        entity_types=labels.entity_types,
        relation_types=labels.relation_types,
        max_span_width=labels.max_span_width,
    )
    cache = state_dir(a["out"]) / "teacher.pt"
    if resume and cache.is_file():
        pseudo, targets = load_targets(cache)
        return [*examples, *pseudo[len(examples) :]], targets, config
    texts = unlabelled_texts(a["unlabelled"] or (), a["unlabelled_limit"])
    first = RelationExtractor.load(paths[0])
    everything = [*examples, *pseudo_label(first, texts)]
    targets = average_targets(
        [teach(first, everything), *(teach(RelationExtractor.load(path), everything) for path in paths[1:])]
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_targets(cache, everything, targets)
    return everything, targets, config


def _teachers(value: str | Path | Sequence[str | Path]) -> list[str | Path]:
    """Return the --teacher paths as a list: a run recorded before ensembles holds one path."""
    return [value] if isinstance(value, str | Path) else list(value)


def calibrate_command(
    model: Annotated[Path, typer.Option("--model", help="Model directory to calibrate in place.")],
    data: Annotated[
        list[Path], typer.Option("--data", help="The training file the model was trained on; repeat to join several.")
    ],
    dev: DevFile = None,
    holdout: Holdout = 0,
    metric: Metric = "auto",
    type_constraints: TypeConstraints = True,
) -> None:
    """Fit a trained model's relation threshold and type signatures on dev data (train does this too)."""
    from kgbuild.extraction.calibrate import calibrate
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.model import write_config
    from kgbuild.extraction.train import is_document_level, leave_out_unknown_labels

    try:
        examples = _read_files(data)
        examples, dev_examples = _dev_split(examples, dev, holdout)
        extractor = RelationExtractor.load(model)
        # as train --init leaves them out
        examples, dev_examples, _ = leave_out_unknown_labels(examples, dev_examples, extractor.config, model)
        if metric == "auto":
            metric = "gold_entities" if is_document_level(examples) else "end_to_end"
        report = calibrate(extractor, examples, dev_examples, metric, type_constraints)
        write_config(model, extractor.config, {"calibration": report})
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    typer.echo(json.dumps(report))


def _read_files(files: list[Path]) -> list[Example]:
    """Read the examples of several training files, in order (train and calibrate join them the same way)."""
    from kgbuild.extraction.datasets import read_examples

    return [example for file in files for example in read_examples(file)]


def _dev_split(examples: list[Example], dev: Path | None, holdout: int) -> tuple[list[Example], list[Example]]:
    """Return training and dev examples: from --dev, or the last --holdout training examples."""
    from kgbuild.extraction.datasets import read_examples

    if dev is not None:
        return examples, read_examples(dev)
    if 0 < holdout < len(examples):
        return examples[:-holdout], examples[-holdout:]
    raise fail(f"give --dev, or --holdout between 1 and {len(examples) - 1}")


def evaluate_command(
    model: Annotated[str, typer.Option("--model", help="conll04, wikidata, wikidata-all or a model directory.")],
    data: Annotated[Path, typer.Option("--data", help="Test file (CoNLL04 JSON/JSONL or Re-DocRED JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    batch_size: Annotated[int, typer.Option(help="Texts per batch.")] = 32,
) -> None:
    """Score a model: entities and relations, end to end and with gold entities."""
    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.evaluate import evaluate
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.settings import resolve_model_dir

    try:
        examples = read_examples(data)
        extractor = RelationExtractor.load(resolve_model_dir(model))
        report = evaluate(extractor, examples, batch_size=batch_size)
    except (KgBuildError, ValueError) as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(report))
        return
    for section in ("entities", "relations_end_to_end", "relations_end_to_end_resolved", "relations_gold_entities"):
        if section not in report:
            continue
        micro, macro = report[section]["micro"], report[section]["macro"]
        typer.echo(
            f"{section:<29} micro P {micro['precision']:6.2f} R {micro['recall']:6.2f} F1 {micro['f1']:6.2f}"
            f"   macro F1 {macro['f1']:6.2f}"
        )
