"""bench/paired_objective.py: the paired bootstrap of a difference in the tuning objective."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from paired_objective import paired_bootstrap


def test_a_consistent_gain_has_an_interval_above_zero_and_a_coin_flip_does_not():
    steady = paired_bootstrap([[1.0, 2.0, 1.5, 0.5] * 25, [0.5, 1.0] * 30], resamples=2000)
    assert steady["difference"] == pytest.approx((1.25 + 0.75) / 2)
    assert 0 < steady["low"] < steady["difference"] < steady["high"] and steady["b_ahead"] == 1.0
    flip = paired_bootstrap([[50.0, -50.0] * 50], resamples=2000)
    assert flip["difference"] == 0.0 and flip["low"] < 0 < flip["high"] and 0.3 < flip["b_ahead"] < 0.7


def test_the_sets_count_equally_whatever_their_size_and_a_seed_repeats():
    report = paired_bootstrap([[3.0] * 200, [-1.0] * 10], resamples=500, seed=7)
    assert report["difference"] == pytest.approx(1.0) and report["low"] == report["high"] == pytest.approx(1.0)
    assert paired_bootstrap([[1.0, -2.0, 0.5]], seed=3) == paired_bootstrap([[1.0, -2.0, 0.5]], seed=3)
    with pytest.raises(ValueError, match="at least one question"):
        paired_bootstrap([[1.0], []])
