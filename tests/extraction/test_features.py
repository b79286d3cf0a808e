from hypothesis import given
from hypothesis import strategies as st

from kgbuild.extraction.features import SHAPES, encode_words, window_starts, word_shape


def test_word_shapes_keep_the_casing_a_lowercasing_encoder_loses():
    shapes = [SHAPES[word_shape(w)] for w in ("rome", "Rome", "NATO", "iPhone", "1752", ",", "I")]
    assert shapes == ["lower", "title", "upper", "mixed", "digit", "other", "title"]


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=2, max_value=600))
def test_windows_cover_every_piece_and_stay_inside(length, content):
    starts = window_starts(length, content)
    covered = set()
    for start in starts:
        assert start >= 0
        covered.update(range(start, min(start + content, length)))
        assert start + content <= max(length, content)
    assert covered == set(range(length))


def test_word_without_pieces_becomes_unknown(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    encoded = encode_words(tokenizer, ["Rome", "\u200b", "is"])
    assert encoded.num_words == 3
    assert encoded.input_ids[encoded.word_starts[1]] == tokenizer.unk_token_id
    assert len(encoded.input_ids) == len(encoded.shape_ids)
