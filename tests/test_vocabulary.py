import json

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from constrained.backends.tiny import build_tokenizer
from constrained.vocabulary import TokenVocabulary

from .conftest import shared_data

TEXTS = ['{"name": "Ada", "tags": ["x", "y"]}', "Ünïcödé ✓ 日本 and \"quotes\" \\ back", "  spaced\n\tout  "]


@pytest.mark.parametrize("kind", ["byte_level", "sentencepiece"])
def test_concatenated_token_bytes_reproduce_the_text(kind):
    tok = build_tokenizer(kind)
    vocab = TokenVocabulary.from_tokenizer(tok)
    for text in TEXTS:
        ids = tok(text, add_special_tokens=False).input_ids
        decoded = vocab.decode(ids).decode("utf-8")
        # SentencePiece's Metaspace adds one leading space; nothing else may differ.
        assert decoded in ((text,) if kind == "byte_level" else (text, " " + text))


def test_byte_fallback_tokens_are_single_bytes():
    vocab = TokenVocabulary.from_tokenizer(build_tokenizer("sentencepiece"))
    fallback = [i for i, b in enumerate(vocab.token_bytes) if len(b) == 1 and b[0] >= 0x80]
    assert len(fallback) == 128             # every non-ASCII byte <0x80>..<0xFF>


def test_special_tokens_are_not_generable():
    tok = build_tokenizer("byte_level")
    vocab = TokenVocabulary.from_tokenizer(tok)
    for tid in tok.all_special_ids:
        assert not vocab.generable[tid]
    assert vocab.generable.sum() == vocab.size - len(tok.all_special_ids)


def test_wordpiece_bytes():
    wp = Tokenizer(models.WordPiece({"[UNK]": 0, "[MASK]": 1, "name": 2, "##s": 3, "{": 4, "##x": 5}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.decoder = decoders.WordPiece()
    tok = PreTrainedTokenizerFast(tokenizer_object=wp, unk_token="[UNK]", mask_token="[MASK]")
    vocab = TokenVocabulary.from_tokenizer(tok)
    assert vocab.kind == "wordpiece"
    assert vocab.token_bytes[2] == b" name" and vocab.token_bytes[3] == b"s"
    assert not vocab.generable[0] and not vocab.generable[1]


def test_padded_model_vocabulary_is_not_generable():
    tok = build_tokenizer("byte_level")
    vocab = TokenVocabulary.from_tokenizer(tok, size=len(tok) + 7)
    assert vocab.size == len(tok) + 7 and not vocab.generable[-7:].any()


def test_tokenize_exact_spells_text_with_fewest_tokens():
    vocab = TokenVocabulary.from_tokenizer(build_tokenizer("byte_level"))
    for text in ['{"name": ', ', "age": ', "}", "日本"]:
        ids = vocab.tokenize_exact(text)
        assert vocab.decode(ids) == text.encode()
        assert all(vocab.generable[i] for i in ids)
    assert len(vocab.tokenize_exact('{"name": ')) < len('{"name": ')


@pytest.mark.parametrize("name", ["gpt2-50k", "qwen3-151k", "smollm2-49k", "gemma3-262k"])
def test_real_tokenizers_round_trip(name):
    path = shared_data("tokenizers", name, "tokenizer.json")
    tok = PreTrainedTokenizerFast(tokenizer_file=str(path))
    vocab = TokenVocabulary.from_tokenizer(tok)
    assert vocab.size >= len(tok.get_vocab()) - 1
    for text in TEXTS + [json.dumps({"k": "välüe", "n": [1, 2.5]})]:
        ids = tok(text, add_special_tokens=False).input_ids
        decoded = vocab.decode(ids).decode("utf-8")
        assert decoded.lstrip(" ") == text.lstrip(" ") or decoded == tok.decode(ids)


def test_analysis_is_cached_on_disk():
    from constrained import vocabulary
    tok = build_tokenizer("byte_level")
    first = TokenVocabulary.from_tokenizer(tok, size=len(tok) + 3)
    assert vocabulary._cache_file(first.content_hash).exists()
    vocabulary._CACHE.clear()
    again = TokenVocabulary.from_tokenizer(tok, size=len(tok) + 3)
    assert again is not first
    assert again.token_bytes == first.token_bytes and (again.generable == first.generable).all()
    assert (again.trie.token_node == first.trie.token_node).all() and again.kind == first.kind
