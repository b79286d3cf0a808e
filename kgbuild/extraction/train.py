"""Fine-tune the joint extractor: both heads and the encoder (or LoRA adapters) together.

Imported only by the ``train`` command. Deterministic for a seed and thread count; early
stopping on the dev metric; the best model is written atomically with its metrics and log.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from kgbuild.errors import LabelError
from kgbuild.extraction.calibrate import METRICS, calibrate, constrain_types, dev_figure
from kgbuild.extraction.checkpoint import fingerprint as checkpoint_fingerprint
from kgbuild.extraction.checkpoint import load_state, refuse_interrupted, save_state, state_dir, write_run_arguments
from kgbuild.extraction.datasets import label_sets
from kgbuild.extraction.distil import Distillation, SoftTargets
from kgbuild.extraction.evaluate import evaluate
from kgbuild.extraction.extractor import RelationExtractor
from kgbuild.extraction.features import encode_words
from kgbuild.extraction.losses import class_weights
from kgbuild.extraction.model import (
    ExtractorConfig,
    JointExtractor,
    build_model,
    load_model,
    save_model,
)
from kgbuild.extraction.objective import batch_loss
from kgbuild.records import Example

log = logging.getLogger("kgbuild.train")


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of one training run."""

    epochs: int = 30
    batch_size: int = 8
    encoder_lr: float = 1e-4
    head_lr: float = 5e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    patience: int = 8
    seed: int = 13
    metric: str = "auto"
    threads: int | None = None
    # Decay per step of an exponential moving average of the weights; 0 trains without one. With one,
    # the averaged weights are the ones scored on dev, kept and saved (Polyak averaging).
    ema: float = 0.0
    # With train_layers: run the frozen lower layers once, in eval mode, and train the top layers from
    # their cached states, kept as "float32" or "float16" ("": off; see kgbuild.extraction.frozen).
    cache_frozen: str = ""
    # Class-balanced relation loss: a gold relation's term is weighted by the effective-number ratio of
    # its label (beta, e.g. 0.995; 0: off; see kgbuild.extraction.losses.class_weights).
    class_balance: float = 0.0
    # DREEAM's evidence supervision: the weight of the loss that draws each pair's attention onto the
    # sentences the data gives as its relations' evidence (Re-DocRED's "evidence"; 0: off).
    evidence_weight: float = 0.0

    def __post_init__(self) -> None:
        """Reject values that cannot train."""
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}")
        if not 0.0 <= self.class_balance < 1.0:
            raise ValueError(f"class_balance must be in [0, 1), got {self.class_balance}")
        if self.evidence_weight < 0:
            raise ValueError(f"evidence_weight must be >= 0, got {self.evidence_weight}")
        if self.cache_frozen not in ("", "float32", "float16"):
            raise ValueError(f"cache_frozen must be float32 or float16 (or off), got {self.cache_frozen!r}")


def is_document_level(examples: Sequence[Example]) -> bool:
    """Whether the data has multi-sentence texts or entities mentioned more than once."""
    return any(len(x.text.sentence_starts) > 1 or any(len(e.mentions) > 1 for e in x.entities) for x in examples)


def train(
    train_examples: Sequence[Example],
    dev_examples: Sequence[Example],
    out_dir: str | Path,
    config: ExtractorConfig | None = None,
    settings: TrainSettings = TrainSettings(),
    progress: bool | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    type_constraints: bool = True,
    init: str | Path | None = None,
    resume: bool = False,
    run_arguments: dict[str, Any] | None = None,
    soft_targets: Sequence[SoftTargets] | None = None,
    distillation: Distillation | None = None,
    pseudo_labelled: int = 0,
    augmented: int = 0,
    teachers: Sequence[str] = (),
) -> dict[str, Any]:
    """Train on `train_examples`, stop early on `dev_examples`, save the best model to `out_dir`.

    The best epoch's model is then calibrated on the dev set (`calibrate`): with `type_constraints`
    it predicts a relation only between entity types it was seen between in training.

    Without `dev_examples` (the final-model protocol of SpERT and others: the recipe and epoch count
    are chosen on dev first, then the model is retrained on train and dev together), it trains
    exactly ``settings.epochs`` epochs and keeps the last weights, with the learned threshold as is.

    With `init`, a saved model directory, training continues from its weights and keeps its labels
    (a named `config` then only renames it): gold relations of a label the model does not have are left out and
    counted, an entity type it does not have is an error. Until `calibrate` refits them at the end, the
    epochs are scored on dev with its relation threshold and type signatures.

    After every epoch the whole training state is saved atomically in ``OUT.training/`` (see
    `kgbuild.extraction.checkpoint`), with `run_arguments` (the command's, for ``--resume``). With
    `resume`, training continues after the last saved epoch of an interrupted run of the same
    configuration and data, and ends with the model an uninterrupted run would have written.

    With `soft_targets` (a teacher's, one per training example; see `kgbuild.extraction.distil`),
    the student also learns from them, weighted by `distillation`. The last `pseudo_labelled` training
    examples carry the teacher's labels, not gold ones. The `augmented` examples just before them are
    renamed copies of gold ones, with the same relations (`kgbuild.extraction.augment`); they count in
    the class balance. Both kinds are trained on, but only the original gold examples decide the type
    signatures and converse pairs at calibration: a fact counts once (a converse pair's support, 20
    triples, would otherwise be met by copies). `teachers` names the teacher models in ``metrics.json``.

    Raises:
        CheckpointError: `resume` without a usable state; or, without `resume`, an interrupted run's
            state is in the way (it is never overwritten silently).

    Returns:
        The metrics written to ``metrics.json``: settings, per-epoch history and the best dev report
        (``None`` without dev examples).

    """
    if not train_examples:
        raise ValueError("need training examples, got none")
    dropped = 0
    if init is not None:
        model, tokenizer = load_model(init, merge_lora=False)
        model.config = replace(
            model.config,
            name=(config.name if config else "") or model.config.name,
            pronoun_mentions=bool(config and config.pronoun_mentions) or model.config.pronoun_mentions,
        )
        config = model.config
        train_examples, dev_examples, dropped = leave_out_unknown_labels(train_examples, dev_examples, config, init)
    else:
        entity_types, relation_types = label_sets([*train_examples, *dev_examples])
        if config is None:
            config = ExtractorConfig(entity_types, relation_types)
        document_level = is_document_level(train_examples)
        if soft_targets is not None and config.relation_types:  # a student keeps its teacher's labels
            config = replace(config, document_level=document_level)
            train_examples, dropped_train = known_labels(train_examples, config, "the teacher")
            dev_examples, dropped_dev = known_labels(dev_examples, config, "the teacher")
            dropped = dropped_train + dropped_dev
        else:
            config = replace(
                config, entity_types=entity_types, relation_types=relation_types, document_level=document_level
            )
    metric = settings.metric
    if metric == "auto":
        metric = "gold_entities" if config.document_level else "end_to_end"
    with_gold = metric != "end_to_end"  # dev scoring needs the gold-entity figure too
    if settings.cache_frozen and not config.train_layers:
        raise ValueError("caching the frozen layers needs --train-layers N (the layers below N are cached)")
    if soft_targets is not None and len(soft_targets) != len(train_examples):
        raise ValueError(f"got {len(soft_targets)} soft targets for {len(train_examples)} training examples")
    if not 0 <= augmented <= len(train_examples) - pseudo_labelled:
        raise ValueError(f"{augmented} augmented examples among {len(train_examples) - pseudo_labelled} gold ones")
    teacher = ""
    if soft_targets is not None:
        teacher = f"{distillation.key() if distillation else None}|{_targets_digest(soft_targets)}"
    run_key = checkpoint_fingerprint(
        config.to_json(), asdict(settings), [*train_examples, *dev_examples], f"{init}|{type_constraints}|{teacher}"
    )
    out_dir = Path(out_dir)
    state = load_state(out_dir, run_key) if resume else None
    if state is None:
        refuse_interrupted(out_dir)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    torch.use_deterministic_algorithms(True)

    if init is None:
        model, tokenizer = build_model(config)
    if run_arguments is not None and state is None:  # once the model is built: a bad base model leaves nothing
        write_run_arguments(out_dir, run_arguments)
    model.train()
    encoded = [encode_words(tokenizer, example.text.tokens) for example in train_examples]
    lower = None
    if settings.cache_frozen:
        from kgbuild.extraction.frozen import frozen_states

        cache = state_dir(out_dir) / "frozen.pt"
        lower = frozen_states(model, encoded, cache, run_key, settings.cache_frozen, settings.batch_size)
    gold_examples = train_examples[: len(train_examples) - pseudo_labelled]
    originals = gold_examples[: len(gold_examples) - augmented]
    weights = None
    if settings.class_balance:
        counts = Counter(r.label for x in gold_examples for r in x.relations)
        weights = class_weights([counts[label] for label in config.relation_types], settings.class_balance)
        log.info("class-balanced relation loss: weights %.2f to %.2f", weights.min(), weights.max())
    optimizer = _optimizer(model, settings)
    steps_per_epoch = -(-len(train_examples) // settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    warmup = int(settings.warmup * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / max(warmup, 1), max(0.0, (total_steps - step) / max(total_steps - warmup, 1))),
    )
    generator = torch.Generator().manual_seed(settings.seed)
    averaged = _averaged(model, settings.ema)
    scored = model if averaged is None else averaged.module
    if lower is not None:  # the dev texts' frozen states too, kept once read (eval mode: nothing random)
        model.frozen_memo, scored.frozen_memo = {}, {}
    show = sys.stderr.isatty() if progress is None else progress
    from tqdm import tqdm

    checkpoint = out_dir.with_name(f"{out_dir.name}.checkpoint")
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Tensor]] | None = None
    first_epoch, stopped, spent = 1, False, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(_python_rng(state["python_rng"]))
        history, best = state["history"], (state["best_figure"], state["best_epoch"], state["best_weights"])
        first_epoch, stopped, spent = state["epoch"] + 1, state["stopped"], state["seconds"]
        log.info("resumed after epoch %d of %d", state["epoch"], settings.epochs)
    started = time.monotonic() - spent
    done = 0 if stopped else (first_epoch - 1) * steps_per_epoch
    bar = tqdm(total=total_steps, initial=done, disable=not show, desc="train", unit="step")
    for epoch in range(first_epoch, settings.epochs + 1):
        if stopped:
            break
        model.train()
        order = torch.randperm(len(train_examples), generator=generator).tolist()
        losses = []
        for first in range(0, len(order), settings.batch_size):
            batch = order[first : first + settings.batch_size]
            soft = [soft_targets[i] for i in batch] if soft_targets is not None else None
            cached = [lower.of(i) for i in batch] if lower is not None else None
            loss = batch_loss(
                model,
                [train_examples[i] for i in batch],
                [encoded[i] for i in batch],
                soft,
                distillation,
                cached,
                weights,
                settings.evidence_weight,
            )
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
            optimizer.step()
            scheduler.step()
            if averaged is not None:
                averaged.update_parameters(model)
            losses.append(float(loss.detach()))
            bar.update(1)
            shown = f"{best[0]:.1f}" if best and dev_examples else "-"
            bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.3f}", dev_f1=shown)
        model.eval()
        record: dict[str, Any] = {"epoch": epoch, "loss": round(sum(losses) / len(losses), 4)}
        figure = 0.0  # without dev data every epoch is the best so far: the last one is kept
        if dev_examples:
            report = evaluate(RelationExtractor(scored.eval(), tokenizer), dev_examples, gold=with_gold)
            figure = dev_figure(report, metric)
            record |= {"dev_f1": figure, "dev_entity_f1": report["entities"]["micro"]["f1"]}
            if with_gold:
                record["dev_gold_f1"] = report["relations_gold_entities"]["micro"]["f1"]
            if averaged is not None:  # the raw weights' figure too, so the log shows what averaging bought
                raw = evaluate(RelationExtractor(model, tokenizer), dev_examples, gold=with_gold)
                record["dev_f1_raw"] = dev_figure(raw, metric)
        record["seconds"] = round(time.monotonic() - started, 1)
        history.append(record)
        log.info(json.dumps(record))
        if best is None or figure > best[0] or not dev_examples:
            best = (figure, epoch, copy.deepcopy(scored.state_dict()))
            # A complete, uncalibrated model of the best epoch so far, for a run cut short.
            save_model(scored, checkpoint, {"train.log": _log_text(history)})
        elif epoch - best[1] >= settings.patience:
            log.info("early stop: no dev gain for %d epochs", settings.patience)
            stopped = True
        save_state(
            out_dir,
            {
                "fingerprint": run_key,
                "epoch": epoch,
                "stopped": stopped,
                "seconds": time.monotonic() - started,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "averaged": averaged.state_dict() if averaged is not None else None,
                "torch_rng": torch.get_rng_state(),
                "python_rng": random.getstate(),
                "history": history,
                "best_figure": best[0],
                "best_epoch": best[1],
                "best_weights": best[2],
            },
        )
        if on_epoch:
            on_epoch(record)
    bar.close()
    assert best is not None  # the loop ran at least one epoch (epochs > 0)
    model.load_state_dict(best[2])
    extractor = RelationExtractor(model.eval(), tokenizer)
    if dev_examples:
        calibration = calibrate(extractor, originals, dev_examples, metric, type_constraints)
    else:
        calibration = constrain_types(extractor, originals, type_constraints)
    log.info("calibrated: %s", json.dumps(calibration))
    config = model.config
    final = evaluate(extractor, dev_examples) if dev_examples else None
    distilled = asdict(distillation) if soft_targets is not None and distillation is not None else None
    if distilled is not None and teachers:
        distilled["teachers"] = list(teachers)
    metrics = {
        "config": json.loads(config.to_json()),
        "settings": asdict(settings),
        "metric": metric if dev_examples else None,  # nothing was scored without dev data
        "best_epoch": best[1],
        "calibration": calibration,
        "init": str(init) if init is not None else None,
        "dropped_relations": dropped,
        "distillation": distilled,
        "train_examples": len(train_examples),
        "augmented_examples": augmented,
        "dev_examples": len(dev_examples),
        "train_seconds": round(time.monotonic() - started, 1),
        "history": history,
        "dev": final,
    }
    save_model(model, out_dir, {"metrics.json": json.dumps(metrics, indent=2), "train.log": _log_text(history)})
    shutil.rmtree(checkpoint, ignore_errors=True)
    shutil.rmtree(state_dir(out_dir), ignore_errors=True)
    return metrics


def _targets_digest(targets: Sequence[SoftTargets] | None) -> str:
    """Digest a teacher's soft targets, so that a run resumes only with the same teacher."""
    import hashlib

    digest = hashlib.sha256()
    for target in targets or ():
        digest.update(target.span_log_probs.numpy().tobytes())
        digest.update(target.margins.numpy().tobytes())
    return digest.hexdigest()


def _python_rng(saved: Any) -> tuple[Any, ...]:
    """Rebuild `random.getstate()`'s nested tuple from what a checkpoint round trip made of it."""
    version, internal, gauss = saved
    return (version, tuple(internal), gauss)


def leave_out_unknown_labels(
    train_examples: Sequence[Example], dev_examples: Sequence[Example], config: ExtractorConfig, model: str | Path
) -> tuple[list[Example], list[Example], int]:
    """`known_labels` on both splits for a saved `model`, with one warning for the relations left out."""
    train_examples, dropped_train = known_labels(train_examples, config, model)
    dev_examples, dropped_dev = known_labels(dev_examples, config, model)
    dropped = dropped_train + dropped_dev
    if dropped:
        log.warning("left out %d gold relations whose label %s does not have", dropped, model)
    return train_examples, dev_examples, dropped


def known_labels(examples: Sequence[Example], config: ExtractorConfig, init: str | Path) -> tuple[list[Example], int]:
    """Drop gold relations of labels `config` lacks; raise `LabelError` on an entity type it lacks."""
    labels, types = set(config.relation_types), set(config.entity_types)
    kept, dropped = [], 0
    for example in examples:
        unknown = {e.type for e in example.entities} - types
        if unknown:
            raise LabelError(f"{init}: the model has no entity type {', '.join(sorted(unknown))}")
        relations = tuple(r for r in example.relations if r.label in labels)
        dropped += len(example.relations) - len(relations)
        kept.append(replace(example, relations=relations))
    return kept, dropped


def _log_text(history: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in history)


def _averaged(model: JointExtractor, decay: float) -> Any:
    """Return an exponential moving average of `model`'s weights (torch's `AveragedModel`); None for ``decay`` 0."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    # Parameters only: the encoder's buffers are constant position and token-type ids.
    average = get_ema_multi_avg_fn(decay)  # type: ignore[no-untyped-call]
    return AveragedModel(model, multi_avg_fn=average, use_buffers=False)


def _optimizer(model: JointExtractor, settings: TrainSettings) -> torch.optim.Optimizer:
    encoder = [p for p in model.encoder.parameters() if p.requires_grad]
    heads = [p for name, p in model.named_parameters() if not name.startswith("encoder.") and p.requires_grad]
    lr = settings.encoder_lr * (10 if model.config.lora_rank else 1)  # LoRA wants a larger step
    return torch.optim.AdamW(
        [{"params": encoder, "lr": lr}, {"params": heads, "lr": settings.head_lr}],
        weight_decay=settings.weight_decay,
    )
