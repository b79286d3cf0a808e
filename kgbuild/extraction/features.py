"""Turn words into encoder inputs: word pieces, word shapes and the windows a long text needs.

The packaged base encoder (all-MiniLM-L6-v2) lower-cases its input, so a word's casing is
kept as a separate *shape* id per word piece, which the model embeds and adds to its input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PAD_SHAPE = 0
SHAPES = ("pad", "lower", "title", "upper", "mixed", "digit", "other")


def word_shape(word: str) -> int:
    """Return the shape id of a word: its casing, or digit/other for non-letters."""
    if any(character.isdigit() for character in word):
        return SHAPES.index("digit")
    letters = [character for character in word if character.isalpha()]
    if not letters:
        return SHAPES.index("other")
    if all(character.islower() for character in letters):
        return SHAPES.index("lower")
    if all(character.isupper() for character in letters):
        return SHAPES.index("upper") if len(letters) > 1 else SHAPES.index("title")
    if letters[0].isupper() and all(character.islower() for character in letters[1:]):
        return SHAPES.index("title")
    return SHAPES.index("mixed")


@dataclass(frozen=True, slots=True)
class EncodedText:
    """Word pieces of one text (no special tokens) and where each word starts among them."""

    input_ids: tuple[int, ...]
    shape_ids: tuple[int, ...]
    word_starts: tuple[int, ...]

    @property
    def num_words(self) -> int:
        """Number of words."""
        return len(self.word_starts)


ENCODE_WORDS_AT_ONCE = 4096  # the tokenizer keeps a heavy object per word: a long document goes in blocks


def encode_words(tokenizer: Any, words: Sequence[str]) -> EncodedText:
    """Split `words` into word pieces; a word the tokenizer drops becomes ``[UNK]``."""
    input_ids: list[int] = []
    shape_ids: list[int] = []
    word_starts: list[int] = []
    for first in range(0, len(words), ENCODE_WORDS_AT_ONCE):
        block = list(words[first : first + ENCODE_WORDS_AT_ONCE])
        for word, pieces in zip(block, tokenizer(block, add_special_tokens=False)["input_ids"], strict=True):
            word_starts.append(len(input_ids))
            pieces = pieces or [tokenizer.unk_token_id]
            input_ids.extend(pieces)
            shape_ids.extend([word_shape(word)] * len(pieces))
    return EncodedText(tuple(input_ids), tuple(shape_ids), tuple(word_starts))


def window_starts(length: int, content_size: int) -> list[int]:
    """Return start offsets of windows of `content_size` pieces covering `length`, half overlapping.

    A text that fits gets one window; a longer one is covered completely, never truncated.
    """
    if content_size <= 1:
        raise ValueError(f"content_size must be > 1, got {content_size}")
    if length <= content_size:
        return [0]
    step = content_size // 2
    starts = list(range(0, length - content_size, step))
    return [*starts, length - content_size]
