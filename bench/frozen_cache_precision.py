"""What a float16 cache of the frozen layers changes, against float32 and against no cache at all.

Builds an extractor over MPNet with the top ``--train-layers`` layers trained (heads untrained, seed 0),
caches the lower layers' states of the first ``--documents`` Re-DocRED dev documents in float32 and
in float16, and compares, in eval mode (no dropout anywhere): the cached states, the word states the
top layers make of them, and the training loss, each against the uncached forward pass.

    python bench/frozen_cache_precision.py --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/redocred/dev_revised.json"))
    parser.add_argument("--base-model", default="all-mpnet-base-v2")
    parser.add_argument("--train-layers", type=int, default=4)
    parser.add_argument("--documents", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from kgbuild.extraction.datasets import label_sets, read_examples
    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.frozen import frozen_states
    from kgbuild.extraction.model import ExtractorConfig, build_model
    from kgbuild.extraction.objective import batch_loss

    torch.set_num_threads(args.threads)
    documents = read_examples(args.data)[: args.documents]
    entity_types, relation_types = label_sets(documents)
    config = ExtractorConfig(
        entity_types,
        relation_types,
        base_model=args.base_model,
        document_level=True,
        pair_features="attention+between",
        train_layers=args.train_layers,
    )
    torch.manual_seed(0)
    model, tokenizer = build_model(config)
    encoded = [encode_words(tokenizer, d.text.tokens) for d in documents]
    folder = Path(tempfile.mkdtemp())
    caches = {
        dtype: frozen_states(model, encoded, folder / f"{dtype}.pt", "bench", dtype, 4)
        for dtype in ("float32", "float16")
    }
    model.eval()
    report: dict[str, object] = {"documents": len(documents), "pieces": int(caches["float32"].states.shape[0])}
    with torch.no_grad():
        plain_loss = float(batch_loss(model, documents, encoded))
        plain_words, mask = model.encode(encoded)
        scale = float(plain_words[mask].abs().mean())
        report["uncached_loss"] = plain_loss
        report["word_state_mean_abs"] = round(scale, 4)
        full = caches["float32"].states
        for dtype, cache in caches.items():
            lower = [cache.of(i) for i in range(len(documents))]
            loss = float(batch_loss(model, documents, encoded, lower=lower))
            words, _ = model.encode(encoded, lower)
            report[dtype] = {
                "cache_bytes": cache.nbytes,
                "state_max_abs_error": float((cache.states.float() - full).abs().max()),
                "word_state_max_abs_diff": float((words - plain_words)[mask].abs().max()),
                "loss": loss,
                "loss_relative_diff": abs(loss - plain_loss) / plain_loss,
            }
    print(json.dumps(report, indent=2 if args.json else None))


if __name__ == "__main__":
    main()
