"""Is graph (or settings) B better than A on the same questions? A paired bootstrap of the tuning objective.

    python bench/paired_objective.py \
        --set ../shared/data/2wiki/questions.jsonl 0 200 runs/kg-2wiki runs/kg-swaplo-2wiki \
        --set ../shared/data/musique-dev/questions.jsonl 0 114 runs/kg-musique-dev runs/kg-swaplo-musique-dev \
        --settings-a bench/settings/default.json --settings-b runs/tune16-swaplo.json --json

Each question's objective is R@2 + 0.5 R@5, the measure `bench/tune_search.py` averages within a set;
the sets' means are then averaged, as there. Both configurations rank the same questions, so the
difference is paired: questions are resampled with replacement within each set (seeded), and the
report gives the difference, its 95% interval and the share of resamples in which B is ahead (a
bootstrap share, not a p-value). A rule that chooses between graphs can ask for an interval above zero
rather than a bare difference, which on 114 MuSiQue questions moves by about 0.9 with one question.

The interval covers the sampling of questions only. On the questions a settings file was tuned on (the
example above: the tuning halves, with B's settings tuned there), the fit of the settings is not in it,
so the interval is optimistic for that side; questions no setting was tuned on give a fair one.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def paired_bootstrap(
    differences: Sequence[Sequence[float]], resamples: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """Bootstrap the mean over sets of each set's mean per-question difference (B - A).

    Args:
        differences: one sequence per question set, one difference per question.

    Returns:
        ``difference`` (the observed mean of set means), ``low`` and ``high`` (the 2.5th and 97.5th
        percentiles of the resampled ones) and ``b_ahead`` (the share of resamples above zero).

    """
    if not differences or any(len(values) == 0 for values in differences):
        raise ValueError("every question set needs at least one question")
    generator = np.random.default_rng(seed)
    observed = float(np.mean([np.mean(values) for values in differences]))
    means = np.zeros(resamples)
    for values in differences:
        array = np.asarray(values, dtype=float)
        picks = generator.integers(0, len(array), size=(resamples, len(array)))
        means += array[picks].mean(axis=1)
    means /= len(differences)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "difference": round(observed, 4),
        "low": round(float(low), 4),
        "high": round(float(high), 4),
        "b_ahead": round(float((means > 0).mean()), 4),
    }


def question_objectives(kg: str, settings_file: str, questions: Sequence[Any]) -> list[float]:
    """Each question's R@2 + 0.5 R@5 (percent) on graph `kg` under the settings in `settings_file`."""
    from kgsearch.evaluate import recall_at
    from kgsearch.search import Searcher
    from kgsearch.settings import SearchSettings

    settings = SearchSettings.from_json(json.loads(Path(settings_file).read_text()))
    searcher = Searcher.open(kg)
    run = searcher.with_settings(**settings.to_json())
    values = []
    for question in questions:  # read and ranked as `bench/tune_search.py` does, so the set means match its own
        read = searcher.read(question.question, dense=True)
        ranked = [hit.passage.id for hit in run.rank(read, 10, explain=False).hits]
        values.append(100 * recall_at(ranked, question.gold, 2) + 50 * recall_at(ranked, question.gold, 5))
    return values


def main() -> None:
    from kgsearch.evaluate import read_questions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", nargs=5, action="append", required=True, metavar=("QUESTIONS", "SKIP", "N", "KG_A", "KG_B")
    )
    parser.add_argument("--settings-a", default="bench/settings/default.json")
    parser.add_argument("--settings-b", default="bench/settings/default.json")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sets, differences = [], []
    for path, skip, count, kg_a, kg_b in args.set:
        questions = read_questions(path)[int(skip) : int(skip) + int(count)]
        a = question_objectives(kg_a, args.settings_a, questions)
        b = question_objectives(kg_b, args.settings_b, questions)
        differences.append([y - x for x, y in zip(a, b, strict=True)])
        sets.append(
            {"questions": path, "n": len(questions), "a": kg_a, "b": kg_b, "mean_a": round(float(np.mean(a)), 3),
             "mean_b": round(float(np.mean(b)), 3), "b_better": sum(y > x for x, y in zip(a, b, strict=True)),
             "a_better": sum(x > y for x, y in zip(a, b, strict=True))}
        )  # fmt: skip
    report = {
        "settings_a": args.settings_a,
        "settings_b": args.settings_b,
        "sets": sets,
        **paired_bootstrap(differences, args.resamples, args.seed),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for row in sets:
        print(f"{row['b']} against {row['a']}: {row['mean_b']} - {row['mean_a']} over {row['n']} questions "
              f"(B better on {row['b_better']}, A on {row['a_better']})")  # fmt: skip
    interval = f"95% {report['low']} to {report['high']}"
    print(f"B - A: {report['difference']} ({interval}; B ahead in {report['b_ahead']:.1%} of resamples)")


if __name__ == "__main__":
    main()
