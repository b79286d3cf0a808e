"""What one training epoch costs per backbone and recipe, measured on real Re-DocRED documents.

Each recipe trains a fresh extractor for ``--steps`` steps (batch ``--batch-size`` documents, after
one warm-up step) on the first documents of the Re-DocRED dev file, and reports the median seconds
per document, the extrapolated seconds per 450-document epoch, and the ratio to the first recipe
(MiniLM, full fine-tune: today's default) measured in the same process. Optimizer steps included.

A "cached" recipe first runs the frozen lower layers once over the documents (`--cache-frozen`):
its build time per document and the cache's size for a whole epoch (from the windows of the first
``--epoch-documents`` documents) are reported beside the step time, and each recipe's step losses,
so that a float16 cache can be compared with a float32 one. It also times the uncached step on the
same model and documents, interleaved, for a ratio that the machine's other jobs weigh on alike
(CPU seconds beside wall seconds).

    python bench/train_cost.py --json
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPES = {
    "minilm full": {},
    "mpnet full": {"base_model": "all-mpnet-base-v2"},
    "mpnet lora r16": {"base_model": "all-mpnet-base-v2", "lora_rank": 16},
    "mpnet top 4 of 12": {"base_model": "all-mpnet-base-v2", "train_layers": 4},
    "mpnet top 4 of 12 cached": {"base_model": "all-mpnet-base-v2", "train_layers": 4, "cache": "float32"},
    "mpnet top 4 of 12 cached fp16": {"base_model": "all-mpnet-base-v2", "train_layers": 4, "cache": "float16"},
    "mpnet top 2 of 12": {"base_model": "all-mpnet-base-v2", "train_layers": 2},
    "mpnet full 256-piece windows": {"base_model": "all-mpnet-base-v2", "max_length": 256},
    "mpnet inference only": {"base_model": "all-mpnet-base-v2", "inference": True},
    "minilm inference only": {"inference": True},
}


def _step(model, optimizer, documents, encoded, inference, batch, cached):  # type: ignore[no-untyped-def]
    """Run one step; return its wall and CPU seconds per document and its loss (None for inference)."""
    import torch

    from kgbuild.extraction.objective import batch_loss

    wall, cpu, loss = time.perf_counter(), time.process_time(), None
    if inference:
        model.eval()
        with torch.inference_mode():
            model.encode(encoded[batch])
    else:
        model.train()
        value = batch_loss(model, documents[batch], encoded[batch], lower=cached)
        loss = round(float(value.detach()), 4)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    count = len(documents[batch])
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/redocred/dev_revised.json"))
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epoch-documents", type=int, default=450)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import tempfile

    import torch

    from kgbuild.extraction.datasets import label_sets, read_examples
    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.frozen import frozen_states
    from kgbuild.extraction.model import ExtractorConfig, build_model

    torch.set_num_threads(args.threads)
    everything = read_examples(args.data)
    documents = everything[: args.batch_size * (args.steps + 1)]
    entity_types, relation_types = label_sets(documents)
    base = ExtractorConfig(entity_types, relation_types, document_level=True, pair_features="attention+between")
    rows = []
    for name in args.recipes.split(","):
        recipe = dict(RECIPES[name])
        inference = recipe.pop("inference", False)
        cache_dtype = recipe.pop("cache", None)
        torch.manual_seed(0)
        model, tokenizer = build_model(replace(base, **recipe))
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-5)
        encoded = [encode_words(tokenizer, d.text.tokens) for d in documents]
        extra: dict[str, object] = {}
        lower = None
        if cache_dtype:
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                cache = frozen_states(model, encoded, Path(folder) / "frozen.pt", name, cache_dtype, args.batch_size)
                lower = [cache.of(i) for i in range(len(documents))]
                lower = [[window.clone() for window in text] for text in lower]  # off the file before it goes
            build = (time.perf_counter() - started) / len(documents)
            epoch = [encode_words(tokenizer, d.text.tokens) for d in everything[: args.epoch_documents]]
            pieces = sum(len(window) for window in model.windows(epoch)[0])
            extra = {
                "cache_build_seconds_per_document": round(build, 3),
                "cache_build_seconds_per_epoch": round(build * args.epoch_documents),
                "cache_mb_per_epoch": round(pieces * model.hidden * cache.states.element_size() / 1e6, 1),
            }

        # A cached recipe also times the uncached step on the same model and documents, alternating
        # which goes first, so that the other jobs on the machine weigh on both alike.
        timings: list[tuple[float, float]] = []
        uncached: list[tuple[float, float]] = []
        losses: list[float] = []
        step = functools.partial(_step, model, optimizer, documents, encoded, inference)
        for step_number in range(args.steps + 1):
            batch = slice(step_number * args.batch_size, (step_number + 1) * args.batch_size)
            if lower is not None and step_number % 2:
                uncached.append(step(batch, None)[:2])
            wall, cpu, loss = step(batch, lower[batch] if lower is not None else None)
            timings.append((wall, cpu))
            if loss is not None:
                losses.append(loss)
            if lower is not None and not step_number % 2:
                uncached.append(step(batch, None)[:2])
        timings, uncached = timings[1:], uncached[1:]  # the first step warms up
        per_document = statistics.median(wall for wall, _ in timings)
        extra["cpu_seconds_per_document"] = round(statistics.median(cpu for _, cpu in timings), 3)
        if uncached:
            extra["uncached_seconds_per_document"] = round(statistics.median(wall for wall, _ in uncached), 3)
            extra["uncached_cpu_seconds_per_document"] = round(statistics.median(cpu for _, cpu in uncached), 3)
            extra["wall_ratio_to_uncached"] = round(per_document / extra["uncached_seconds_per_document"], 2)
            extra["cpu_ratio_to_uncached"] = round(
                extra["cpu_seconds_per_document"] / extra["uncached_cpu_seconds_per_document"], 2
            )
        rows.append(
            {
                "recipe": name,
                "trained_parameters_m": round(sum(p.numel() for p in trainable) / 1e6, 1),
                "seconds_per_document": round(per_document, 3),
                "seconds_per_epoch": round(per_document * args.epoch_documents),
                **extra,
                "losses": losses,
            }
        )
        rows[-1]["ratio_to_first"] = round(per_document / rows[0]["seconds_per_document"], 2)
        if not args.json:
            print(rows[-1], flush=True)
        del model, optimizer
    if args.json:
        print(json.dumps({"threads": args.threads, "documents_per_step": args.batch_size, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
