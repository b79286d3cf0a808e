"""What one training epoch costs per backbone and recipe, measured on real Re-DocRED documents.

Each recipe trains a fresh extractor for ``--steps`` steps (batch ``--batch-size`` documents, after
one warm-up step) on the first documents of the Re-DocRED dev file, and reports the median seconds
per document, the extrapolated seconds per 450-document epoch, and the ratio to the first recipe
(MiniLM, full fine-tune: today's default) measured in the same process. Optimizer steps included.

    python bench/train_cost.py --json
"""

from __future__ import annotations

import argparse
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
    "mpnet top 2 of 12": {"base_model": "all-mpnet-base-v2", "train_layers": 2},
    "mpnet full 256-piece windows": {"base_model": "all-mpnet-base-v2", "max_length": 256},
    "mpnet inference only": {"base_model": "all-mpnet-base-v2", "inference": True},
    "minilm inference only": {"inference": True},
}


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

    import torch

    from kgbuild.extraction.datasets import label_sets, read_examples
    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.model import ExtractorConfig, build_model
    from kgbuild.extraction.train import batch_loss

    torch.set_num_threads(args.threads)
    documents = read_examples(args.data)[: args.batch_size * (args.steps + 1)]
    entity_types, relation_types = label_sets(documents)
    base = ExtractorConfig(entity_types, relation_types, document_level=True, pair_features="attention+between")
    rows = []
    for name in args.recipes.split(","):
        recipe = dict(RECIPES[name])
        inference = recipe.pop("inference", False)
        torch.manual_seed(0)
        model, tokenizer = build_model(replace(base, **recipe))
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-5)
        encoded = [encode_words(tokenizer, d.text.tokens) for d in documents]
        timings = []
        for step in range(args.steps + 1):
            batch = slice(step * args.batch_size, (step + 1) * args.batch_size)
            started = time.perf_counter()
            if inference:
                model.eval()
                with torch.inference_mode():
                    model.encode(encoded[batch])
            else:
                model.train()
                loss = batch_loss(model, documents[batch], encoded[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if step:  # the first step warms up
                timings.append((time.perf_counter() - started) / args.batch_size)
        per_document = statistics.median(timings)
        rows.append(
            {
                "recipe": name,
                "trained_parameters_m": round(sum(p.numel() for p in trainable) / 1e6, 1),
                "seconds_per_document": round(per_document, 3),
                "seconds_per_epoch": round(per_document * args.epoch_documents),
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
