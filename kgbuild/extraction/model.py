"""The joint entity and relation extractor: its config, forward pass, losses and on-disk format.

One BERT encoder reads a text once (long texts in half-overlapping windows whose states are
averaged); every word span up to ``max_span_width`` is typed by the entity head, and every
ordered entity pair is classified by the relation head from pooled entity states (log-sum-exp
over an entity's mentions, as in ATLOP), an entity-pair attention context over the text and a
grouped bilinear layer. The relation loss is ATLOP's adaptive-threshold loss: class 0 is a
learned threshold, a relation holds when its logit beats it, so a pair can hold several.

A model directory holds ``config.json`` (this module's `ExtractorConfig`), ``encoder.safetensors``
(fp16 weights over the base encoder, word embeddings excluded, or LoRA weights) and
``heads.safetensors``; `load_model` needs nothing else but the base encoder it names.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from kgbuild.errors import ModelLoadError
from kgbuild.extraction.features import SHAPES, EncodedText, window_starts
from kgbuild.extraction.frozen import encoder_layers
from kgbuild.resolution import PERSON_TYPES
from kgbuild.settings import DEFAULT_BASE_MODEL, resolve_base_model

FORMAT_VERSION = 1
# LoRA's target modules by encoder architecture (transformers' ``model_type``): attention and MLP projections.
LORA_TARGETS = {"bert": ("query", "key", "value", "dense"), "mpnet": ("q", "k", "v", "o", "dense")}
MASKED = -1e4  # the score of a masked position: exp() of it is 0 in float32 and bfloat16
PAIR_FEATURES = ("attention", "attention+between")
_DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 7, 15, 31, 63, 1_000_000)


@dataclass(frozen=True)
class ExtractorConfig:
    """Everything needed to rebuild a trained extractor, saved as ``config.json``."""

    entity_types: tuple[str, ...]
    relation_types: tuple[str, ...]
    base_model: str = DEFAULT_BASE_MODEL
    max_length: int = 512
    max_span_width: int = 10
    type_dim: int = 32
    block_size: int = 32
    dropout: float = 0.1
    document_level: bool = False
    lora_rank: int = 0
    # Fine-tune only the top `train_layers` encoder layers (0: all). The embeddings and lower layers stay
    # frozen, so backward stops below the first trained layer, and the casing embedding is added to that
    # layer's input instead of the word pieces' (a frozen input could not learn it).
    train_layers: int = 0
    # "attention": entity states and an entity-pair attention context (ATLOP); "attention+between"
    # adds the mean of the words between the closest mentions and a signed distance bucket (SpERT).
    pair_features: str = "attention"
    lora_alpha: int = 32
    # Read each personal pronoun ("he", "his", "she", ...) as one more mention of the text's first person
    # entity, in the relation head only ("He was the son of X": the article's subject). Document-level data;
    # a document longer than one window is read window by window, each with its own first person.
    pronoun_mentions: bool = False
    # (label, head type, tail type) seen in training; relations outside them are not predicted.
    relation_signatures: tuple[tuple[str, str, str], ...] = ()
    # (label, converse) pairs the training data always states both ways ("h father t" with "t child h"):
    # a pair's score for the converse is at least its score for the label read the other way round.
    relation_converses: tuple[tuple[str, str], ...] = ()
    # Offset on the learned threshold, in logits, fitted on dev data (see calibrate.py).
    relation_threshold: float = 0.0
    name: str = ""
    version: str = "0"
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """Serialise to JSON."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ExtractorConfig:
        """Parse JSON written by `to_json`, ignoring unknown keys from newer versions."""
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in raw.items() if key in known}
        for key in ("entity_types", "relation_types"):
            values[key] = tuple(values[key])
        for key in ("relation_signatures", "relation_converses"):
            values[key] = tuple(tuple(s) for s in values.get(key, ()))
        return cls(**values)


class JointExtractor(nn.Module):
    """BERT encoder with a span entity head and an entity-pair relation head."""

    def __init__(self, config: ExtractorConfig, encoder: Any, special_ids: tuple[int, int, int]):
        super().__init__()
        self.config = config
        self.encoder: Any = encoder  # a transformers BERT model, or a peft wrapper around one
        self.cls_id, self.sep_id, self.pad_id = special_ids
        hidden = int(encoder.config.hidden_size)
        if hidden % config.block_size:
            raise ValueError(f"hidden size {hidden} is not a multiple of block_size {config.block_size}")
        self.hidden = hidden
        self.shape_embedding = nn.Embedding(len(SHAPES), hidden)
        nn.init.zeros_(self.shape_embedding.weight)  # starts as the plain pre-trained encoder
        self.start_proj = nn.Linear(hidden, hidden)
        self.end_proj = nn.Linear(hidden, hidden)
        self.inner_proj = nn.Linear(hidden, hidden)
        self.width_embedding = nn.Embedding(config.max_span_width + 1, hidden)
        self.entity_classifier = nn.Sequential(
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(hidden, len(config.entity_types) + 1),
        )
        self.type_embedding = nn.Embedding(len(config.entity_types), config.type_dim)
        self.context_query = nn.Linear(hidden, hidden)
        if config.pair_features not in PAIR_FEATURES:
            raise ValueError(f"pair_features must be one of {PAIR_FEATURES}, got {config.pair_features!r}")
        pair_input = 2 * hidden + config.type_dim
        if config.pair_features == "attention+between":
            self.distance_embedding = nn.Embedding(2 * len(_DISTANCE_BUCKETS) + 1, config.type_dim)
            pair_input += hidden + config.type_dim
        self.head_proj = nn.Linear(pair_input, hidden)
        self.tail_proj = nn.Linear(pair_input, hidden)
        self.relation_classifier = nn.Linear(hidden * config.block_size, len(config.relation_types) + 1)
        self.dropout = nn.Dropout(config.dropout)
        self._shape_states: Tensor | None = None
        # Set by a run training from cached frozen layers: their states of each window read in eval mode
        # (the dev texts), by piece ids, so that evaluating every epoch runs only the top layers too.
        self.frozen_memo: dict[tuple[int, ...], Tensor] | None = None
        if config.train_layers:
            layers = encoder_layers(encoder)
            if not 0 < config.train_layers <= len(layers):
                raise ValueError(f"train_layers must be in 1..{len(layers)}, got {config.train_layers}")
            layers[len(layers) - config.train_layers].register_forward_pre_hook(self._add_shapes, with_kwargs=True)

    def _add_shapes(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Add the casing embedding to the hidden states entering the first trained layer."""
        shapes, self._shape_states = self._shape_states, None
        if shapes is None:
            return None
        if args:
            return (args[0] + shapes, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": kwargs["hidden_states"] + shapes}

    def encode(
        self, texts: Sequence[EncodedText], lower: Sequence[Sequence[Tensor]] | None = None
    ) -> tuple[Tensor, Tensor]:
        """Encode texts into word states ``(batch, max_words, hidden)`` and a word mask.

        With `lower` (per text, the states of its windows entering the first trained layer, as
        `kgbuild.extraction.frozen` caches them), only the trained top layers run.
        """
        windows, shapes, targets = self.windows(texts)
        offset = sum(len(text.input_ids) for text in texts)
        device = self.shape_embedding.weight.device
        flat = torch.zeros(offset + 1, self.hidden, device=device)  # last row: padding word
        if windows:
            width = max(len(window) for window in windows)
            ids = torch.tensor([w + [self.pad_id] * (width - len(w)) for w in windows], device=device)
            shape_ids = torch.tensor([s + [0] * (width - len(s)) for s in shapes], device=device)
            attention = torch.tensor([[1] * len(w) + [0] * (width - len(w)) for w in windows], device=device)
            remember = self.frozen_memo is not None and not self.training and self.config.train_layers
            if lower is not None or remember:
                from kgbuild.extraction.frozen import remembered_states, run_top_layers

                given = [w for text in lower for w in text] if lower is not None else remembered_states(self, windows)
                states = run_top_layers(self, given, attention, self.shape_embedding(shape_ids))
            else:
                embeddings = self.encoder.get_input_embeddings()(ids)
                if self.config.train_layers:
                    self._shape_states = self.shape_embedding(shape_ids)  # added by `_add_shapes`
                else:
                    embeddings = embeddings + self.shape_embedding(shape_ids)
                states = self.encoder(inputs_embeds=embeddings, attention_mask=attention).last_hidden_state
            inner = attention.clone()
            inner[:, 0] = 0
            inner[torch.arange(len(windows)), attention.sum(1) - 1] = 0  # drop [CLS] and [SEP]
            target = torch.tensor(targets, device=device)
            flat = flat.index_add(0, target, states[inner.bool()])
            counts = torch.zeros(offset + 1, device=device).index_add(
                0, target, torch.ones_like(target, dtype=flat.dtype)
            )
            flat = flat / counts.clamp(min=1).unsqueeze(1)
        max_words = max((text.num_words for text in texts), default=0)
        index = torch.full((len(texts), max(max_words, 1)), offset, dtype=torch.long, device=device)
        offset = 0
        for row, text in enumerate(texts):
            if text.num_words:
                index[row, : text.num_words] = torch.tensor(text.word_starts, device=device) + offset
            offset += len(text.input_ids)
        return flat[index], index != offset

    def windows(self, texts: Sequence[EncodedText]) -> tuple[list[list[int]], list[list[int]], list[int]]:
        """Cut texts into encoder windows: their piece ids, casing ids, and each inner piece's flat position."""
        content = self.config.max_length - 2
        windows: list[list[int]] = []
        shapes: list[list[int]] = []
        targets: list[int] = []
        offset = 0
        for text in texts:
            length = len(text.input_ids)
            for start in window_starts(length, content) if length else []:
                end = min(start + content, length)
                windows.append([self.cls_id, *text.input_ids[start:end], self.sep_id])
                shapes.append([0, *text.shape_ids[start:end], 0])
                targets.extend(range(offset + start, offset + end))
            offset += length
        return windows, shapes, targets

    def span_parts(self, words: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Project word states into the start, end and inner parts of span states."""
        return self.start_proj(words), self.end_proj(words), self.inner_proj(words)

    def span_logits(self, parts: tuple[Tensor, Tensor, Tensor], word_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Score every span ``[i, i + w)``: logits ``(batch, words, max_width, types + 1)`` and a validity mask."""
        start, end, inner = parts
        length = start.shape[1]
        width = self.config.max_span_width
        end = F.pad(end, (0, 0, 0, width - 1))
        inner_padded = F.pad(inner, (0, 0, 0, width - 1), value=MASKED)
        running = inner
        states = []
        for k in range(width):
            if k:
                running = torch.maximum(running, inner_padded[:, k : k + length])
            states.append(start + end[:, k : k + length] + running + self.width_embedding.weight[k + 1])
        logits = self.entity_classifier(torch.stack(states, dim=2))
        num_words = word_mask.sum(1)
        span_end = torch.arange(length, device=start.device)[:, None] + torch.arange(1, width + 1, device=start.device)
        valid = span_end[None] <= num_words[:, None, None]
        return logits, valid

    def mention_states(self, parts: tuple[Tensor, Tensor, Tensor], row: int, spans: Tensor) -> Tensor:
        """Return span states ``(mentions, hidden)`` for ``spans`` ``(mentions, 2)`` of batch row `row`."""
        start, end, inner = (part[row] for part in parts)
        positions = torch.arange(inner.shape[0], device=inner.device)
        inside = (positions[None] >= spans[:, :1]) & (positions[None] < spans[:, 1:])
        pooled = inner[None].masked_fill(~inside[..., None], MASKED).max(1).values
        widths = (spans[:, 1] - spans[:, 0]).clamp(max=self.config.max_span_width)
        states: Tensor = start[spans[:, 0]] + end[spans[:, 1] - 1] + pooled + self.width_embedding(widths)
        return states

    def relation_scores(
        self,
        words: Tensor,
        word_mask: Tensor,
        mention_states: Tensor,
        mention_entity: Tensor,
        entity_types: Tensor,
        pairs: Tensor,
        spans: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Score entity pairs of one text: logits ``(pairs, relations + 1)``, column 0 the threshold.

        Also returns each pair's attention over the words ``(pairs, words)``, summing to 1: where the
        pair's context is read, which evidence supervision trains to fall on the sentences that state
        the pair's relations (`kgbuild.extraction.losses.evidence_loss`).

        Args:
            words: word states ``(words, hidden)``; word_mask: ``(words,)``.
            mention_states: ``(mentions, hidden)``; mention_entity: entity index of each mention.
            entity_types: type index of each entity ``(entities,)``; pairs: ``(pairs, 2)`` head, tail.
            spans: ``(mentions, 2)`` word spans of the mentions, needed for ``attention+between``.

        """
        count = int(entity_types.shape[0])
        grouped = mention_states.new_full((count, mention_states.shape[0], self.hidden), MASKED)
        grouped[mention_entity, torch.arange(mention_states.shape[0], device=grouped.device)] = mention_states
        entities = torch.logsumexp(grouped, dim=1)
        scores = self.context_query(entities) @ words.T / math.sqrt(self.hidden)
        attention = scores.masked_fill(~word_mask[None], MASKED).softmax(-1)
        heads, tails = pairs[:, 0], pairs[:, 1]
        weights = attention[heads] * attention[tails]
        weights = weights / (weights.sum(1, keepdim=True) + 1e-5)
        context = weights @ words
        types = self.type_embedding(entity_types)
        shared = [context]
        if self.config.pair_features == "attention+between":
            if spans is None:
                raise ValueError("pair_features 'attention+between' needs the mention spans")
            between, distance = _between(words, spans, mention_entity, pairs)
            shared += [between, self.distance_embedding(distance)]
        head = torch.tanh(self.head_proj(torch.cat([entities[heads], types[heads], *shared], -1)))
        tail = torch.tanh(self.tail_proj(torch.cat([entities[tails], types[tails], *shared], -1)))
        blocks, size = self.hidden // self.config.block_size, self.config.block_size
        bilinear = head.view(-1, blocks, size, 1) * tail.view(-1, blocks, 1, size)
        logits: Tensor = self.relation_classifier(self.dropout(bilinear.reshape(-1, self.hidden * size)))
        return logits, weights


def _between(words: Tensor, spans: Tensor, mention_entity: Tensor, pairs: Tensor) -> tuple[Tensor, Tensor]:
    """Mean of the words between each pair's closest mentions, and their signed distance bucket."""
    by_entity: dict[int, list[tuple[int, int]]] = {}
    for (start, end), owner in zip(spans.tolist(), mention_entity.tolist(), strict=True):
        by_entity.setdefault(owner, []).append((start, end))
    gaps, buckets = [], []
    for head, tail in pairs.tolist():
        (hs, he), (ts, te) = min(
            ((h, t) for h in by_entity[head] for t in by_entity[tail]), key=lambda p: (abs(p[0][0] - p[1][0]), p)
        )
        gaps.append((he, ts) if he <= ts else (te, hs) if te <= hs else (0, 0))
        offset = ts - hs
        bucket = next(i for i, limit in enumerate(_DISTANCE_BUCKETS) if abs(offset) <= limit) + 1
        buckets.append(len(_DISTANCE_BUCKETS) + (bucket if offset >= 0 else -bucket))
    gap = torch.tensor(gaps, dtype=torch.long, device=words.device).reshape(-1, 2)
    positions = torch.arange(words.shape[0], device=words.device)
    inside = ((positions[None] >= gap[:, :1]) & (positions[None] < gap[:, 1:])).to(words.dtype)
    between = (inside @ words) / inside.sum(1, keepdim=True).clamp(min=1)
    return between, torch.tensor(buckets, dtype=torch.long, device=words.device)


PRONOUNS = frozenset({"he", "him", "his", "himself", "she", "her", "hers", "herself"})


def mention_table(
    entities: Sequence[Any], tokens: Sequence[str], config: ExtractorConfig, device: torch.device | None = None
) -> tuple[Tensor, Tensor]:
    """Return the mention spans ``(mentions, 2)`` the relation head reads, and the entity of each.

    The entities' own mentions; with ``config.pronoun_mentions``, also every personal pronoun of the
    text as a mention of the person entity mentioned first: in an encyclopaedic article, its subject.
    The pronouns inform the entity pairs' scores and are never reported as mentions.
    """
    spans = [(m.start, m.end) for e in entities for m in e.mentions]
    owner = [i for i, e in enumerate(entities) for _ in e.mentions]
    people = [i for i, e in enumerate(entities) if e.type in PERSON_TYPES]
    if config.pronoun_mentions and people:
        subject = min(people, key=lambda i: min(m.start for m in entities[i].mentions))
        taken = set(spans)
        for position, token in enumerate(tokens):
            if token.lower() in PRONOUNS and (position, position + 1) not in taken:
                spans.append((position, position + 1))
                owner.append(subject)
    return torch.tensor(spans, device=device), torch.tensor(owner, device=device)


def all_pairs(count: int, device: torch.device | None = None) -> Tensor:
    """Every ordered pair ``(head, tail)`` of distinct indices below `count`, shape ``(pairs, 2)``."""
    index = torch.arange(count, device=device)
    grid = torch.cartesian_prod(index, index) if count else torch.zeros(0, 2, dtype=torch.long, device=device)
    return grid[grid[:, 0] != grid[:, 1]]


def build_model(config: ExtractorConfig) -> tuple[JointExtractor, Any]:
    """Create an untrained extractor over the base encoder named in `config`, and its tokenizer."""
    import transformers
    from transformers import AutoModel, AutoTokenizer

    if config.lora_rank and config.train_layers:
        raise ValueError("train only the top layers or LoRA adapters, not both")
    path = resolve_base_model(config.base_model)
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call] # the base checkpoint's unused pooler is expected
    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    encoder = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
    if config.lora_rank:
        from peft import LoraConfig, get_peft_model

        targets = LORA_TARGETS.get(encoder.config.model_type)
        if targets is None:
            known = ", ".join(sorted(LORA_TARGETS))
            raise ModelLoadError(f"{path}: LoRA knows encoders of type {known}, not {encoder.config.model_type!r}")
        lora = LoraConfig(
            r=config.lora_rank, lora_alpha=config.lora_alpha, target_modules=list(targets), lora_dropout=0.05
        )
        encoder = get_peft_model(encoder, lora)
    else:
        encoder.get_input_embeddings().weight.requires_grad_(False)  # not saved: keeps models small
        if config.train_layers:
            layers = encoder_layers(encoder)
            trained = {id(p) for layer in layers[len(layers) - config.train_layers :] for p in layer.parameters()}
            for parameter in encoder.parameters():
                parameter.requires_grad_(id(parameter) in trained)
    special = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    return JointExtractor(config, encoder, special), tokenizer


def _encoder_weights(model: JointExtractor) -> dict[str, Tensor]:
    if model.config.lora_rank:
        from peft import get_peft_model_state_dict

        return {key: value.detach().clone() for key, value in get_peft_model_state_dict(model.encoder).items()}
    skip = "embeddings.word_embeddings.weight"
    return {key: value.detach().half() for key, value in model.encoder.state_dict().items() if not key.endswith(skip)}


def save_model(model: JointExtractor, out_dir: str | Path, extra_files: dict[str, str] | None = None) -> Path:
    """Write the model directory atomically: a complete directory appears, or nothing changes."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    staging.chmod(0o755)
    try:
        (staging / "config.json").write_text(model.config.to_json(), encoding="utf-8")
        save_file({k: v.contiguous() for k, v in _encoder_weights(model).items()}, str(staging / "encoder.safetensors"))
        heads = {
            k: v.detach().half().contiguous() for k, v in model.state_dict().items() if not k.startswith("encoder.")
        }
        save_file(heads, str(staging / "heads.safetensors"))
        for name, content in (extra_files or {}).items():
            (staging / name).write_text(content, encoding="utf-8")
        if out.exists():
            backup = out.with_name(f".{out.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(out, backup)
            os.replace(staging, out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def write_config(model_dir: str | Path, config: ExtractorConfig, metrics_update: dict[str, Any]) -> None:
    """Replace a model directory's config (and merge `metrics_update` into its metrics) atomically."""
    directory = Path(model_dir)
    metrics_file = directory / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    metrics.update(metrics_update)
    metrics["config"] = json.loads(config.to_json())
    for name, content in (("metrics.json", json.dumps(metrics, indent=2)), ("config.json", config.to_json())):
        staging = directory / f".{name}.partial"
        staging.write_text(content, encoding="utf-8")
        os.replace(staging, directory / name)


def load_config(model_dir: str | Path) -> ExtractorConfig:
    """Read a model directory's config without its weights (labels, base encoder, limits).

    Raises:
        ModelLoadError: the directory is missing, incomplete or from an incompatible version.

    """
    directory = Path(model_dir)
    missing = [n for n in ("config.json", "encoder.safetensors", "heads.safetensors") if not (directory / n).is_file()]
    if missing:
        raise ModelLoadError(f"{directory}: not an extractor model directory (missing {', '.join(missing)})")
    try:
        config = ExtractorConfig.from_json((directory / "config.json").read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as error:
        raise ModelLoadError(f"{directory / 'config.json'}: invalid config: {error}") from error
    if config.format_version > FORMAT_VERSION:
        raise ModelLoadError(f"{directory}: format {config.format_version} is newer than this kgbuild reads")
    return config


def load_model(model_dir: str | Path, merge_lora: bool = True) -> tuple[JointExtractor, Any]:
    """Load a model directory written by `save_model`; returns the model (eval mode) and tokenizer.

    Raises:
        ModelLoadError: the directory is missing, incomplete or from an incompatible version.

    """
    from safetensors.torch import load_file

    directory = Path(model_dir)
    config = load_config(directory)
    model, tokenizer = build_model(config)
    encoder_weights = load_file(str(directory / "encoder.safetensors"))
    if config.lora_rank:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model.encoder, encoder_weights)
        if merge_lora:
            model.encoder = model.encoder.merge_and_unload()
    else:
        result = model.encoder.load_state_dict({k: v.float() for k, v in encoder_weights.items()}, strict=False)
        unexpected = [k for k in result.missing_keys if not k.endswith("word_embeddings.weight")]
        if unexpected or result.unexpected_keys:
            raise ModelLoadError(f"{directory}: encoder weights do not match base model {config.base_model!r}")
    heads = {f"{k}": v.float() for k, v in load_file(str(directory / "heads.safetensors")).items()}
    try:
        result = model.load_state_dict(heads, strict=False)
    except RuntimeError as error:  # a tensor of another shape: config.json's labels or sizes were changed
        raise ModelLoadError(f"{directory}: head weights do not match its config ({error})") from error
    if result.unexpected_keys or any(not k.startswith("encoder.") for k in result.missing_keys):
        raise ModelLoadError(f"{directory}: head weights do not match its config")
    return model.eval(), tokenizer
