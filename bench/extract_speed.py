"""Extraction throughput of a shipped model next to the bare encoder's forward pass, same run.

Both read CoNLL04 test (288 sentences) in length-bucketed batches and include word-piece
tokenization. The extractor's figure is end to end: entity spans, entity pairs, relations.
Each figure is the median of ``--repeats`` passes, after one warm-up pass.

    python bench/extract_speed.py --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="conll04")
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/conll04/test.json"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch
    from transformers import AutoModel, AutoTokenizer

    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.settings import resolve_base_model, resolve_model_dir

    torch.set_num_threads(args.threads)
    texts = [example.text for example in read_examples(args.data)]
    extractor = RelationExtractor.load(resolve_model_dir(args.model))
    base = resolve_base_model(extractor.config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    encoder = AutoModel.from_pretrained(base, local_files_only=True).eval()
    by_length = sorted(texts, key=lambda t: len(tokenizer(list(t.tokens), is_split_into_words=True)["input_ids"]))

    def bare_encoder() -> None:
        with torch.inference_mode():
            for first in range(0, len(by_length), args.batch_size):
                batch = [list(t.tokens) for t in by_length[first : first + args.batch_size]]
                inputs = tokenizer(batch, is_split_into_words=True, padding=True, return_tensors="pt")
                encoder(**inputs)

    def extract() -> None:
        extractor.extract(texts, batch_size=args.batch_size)

    def rate(run: object) -> float:
        assert callable(run)
        run()  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return len(texts) / statistics.median(times)

    # Interleave so both see the same machine load.
    encoder_rate, extractor_rate = rate(bare_encoder), rate(extract)
    result = {
        "sentences": len(texts),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "encoder_sentences_per_s": round(encoder_rate, 1),
        "extractor_sentences_per_s": round(extractor_rate, 1),
        "ratio": round(extractor_rate / encoder_rate, 3),
        "model": args.model,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
