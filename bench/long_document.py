"""Peak memory and time of `kgbuild extract` on one long document (JSON Lines, one row).

The document is the sample corpus's passages joined by blank lines, repeated to ``--mb`` megabytes.
The model is a tiny random BERT extractor (built here, no files needed) unless ``--model`` names one;
``--spacy`` picks the spaCy pipeline (``blank``: a sentencizer only, for sizes the full pipeline
would take too long on). Peak memory is ``/usr/bin/time -v``'s maximum resident set size.

    python bench/long_document.py --mb 3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_ENTITY_BIAS = 1.7


def tiny_model(directory: Path, epochs: int = 1, no_entity_bias: float = NO_ENTITY_BIAS) -> Path:
    """Write a 2-layer, 64-wide random BERT and an extractor over it trained `epochs` epochs on 4 sentences."""
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.model import ExtractorConfig
    from kgbuild.extraction.train import TrainSettings, train

    bert = directory / "bert"
    bert.mkdir(parents=True)
    examples = read_examples(ROOT / "tests/data/conll04_tiny.json")
    words = {token.lower() for example in examples for token in example.text.tokens}
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = [*characters, *(f"##{c}" for c in characters)]
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words - set(pieces)), *pieces]
    (bert / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(bert / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(bert)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(bert)
    out = directory / "tiny"
    extractor = ExtractorConfig((), (), base_model=str(bert), max_span_width=4, name="tiny")
    train(examples, examples, out, extractor, TrainSettings(epochs=epochs, seed=1), progress=False)
    # Four sentences teach it to call nearly every word an entity (5,417 in 5,000 words); a higher "no
    # entity" bias brings that near a real model's rate (about one entity per six words on the sample).
    from safetensors.torch import load_file, save_file

    heads = load_file(out / "heads.safetensors")
    heads["entity_classifier.5.bias"][0] += no_entity_bias
    save_file(heads, str(out / "heads.safetensors"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=3.0)
    parser.add_argument("--model", default="", help="model name or directory (default: a tiny random one)")
    parser.add_argument("--spacy", default="", help="spaCy pipeline: default, or 'blank' (sentencizer only)")
    parser.add_argument("--no-entity-bias", type=float, default=NO_ENTITY_BIAS, help="for the tiny model")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--workers", type=int, default=0, help="kgbuild extract --workers (0: torch's default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="long-document-"))
    model = args.model or str(tiny_model(work, no_entity_bias=args.no_entity_bias))
    passages = [json.loads(line)["text"] for line in (ROOT / "data/sample/corpus.jsonl").open(encoding="utf-8")]
    block = "\n\n".join(passages) + "\n\n"
    size = int(args.mb * 1_000_000)
    text = (block * (size // len(block) + 1))[:size]
    corpus = work / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "long", "title": "Long", "text": text}) + "\n", encoding="utf-8")
    environment = dict(os.environ)
    if args.spacy == "blank":
        import spacy

        blank = spacy.blank("en")
        blank.add_pipe("sentencizer")
        blank.to_disk(work / "blank")
        environment["KGBUILD_SPACY_MODEL"] = str(work / "blank")
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "kgbuild", "extract", str(corpus)]
    command += ["--out", str(work / "kg"), "--model", model, "--show", "0", "--workers", str(args.workers)]
    started = time.monotonic()
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    try:
        output, code = run.communicate(timeout=args.timeout)[0], run.returncode
    except subprocess.TimeoutExpired:
        for child in subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split():
            os.kill(int(child), signal.SIGTERM)  # time's child first: then time reports what it had used
        output, code = run.communicate()[0], -1
    seconds = time.monotonic() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", output)
    extracted = re.search(r"(\d+) documents extracted \((\d+) sentences", output)
    graph = re.search(r"graph: (\d+) entities, (\d+) triples", output)
    report = {
        "characters": len(text),
        "exit": code,
        "seconds": round(seconds, 1),
        "max_rss_mb": round(int(peak.group(1)) / 1024) if peak else None,
        "documents": int(extracted.group(1)) if extracted else None,
        "sentences": int(extracted.group(2)) if extracted else None,
        "entities": int(graph.group(1)) if graph else None,
        "triples": int(graph.group(2)) if graph else None,
        "spacy": args.spacy or "default",
        "workers": args.workers,
        "model": args.model or "tiny random",
        "kg": str(work / "kg"),
    }
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))
    if code != 0:
        print(output[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
