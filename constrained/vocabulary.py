"""TokenVocabulary: the exact bytes every token id stands for.

Everything downstream (automata, masks, decoding) works on bytes, so a token such as
``",`` that spans skeleton and value, or a byte-fallback token holding half a UTF-8
character, is judged exactly. Built once per tokenizer and cached by content hash.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes (the inverse of ``bytes_to_unicode``)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def _kind_of(tokenizer_json: dict) -> str:
    """'byte_level', 'wordpiece' or 'sentencepiece', from the tokenizer's own pipeline."""
    def types(node):
        if not node:
            return []
        if node.get("type") == "Sequence":
            parts = node.get("decoders") or node.get("pretokenizers") or node.get("normalizers") or []
            return [t for p in parts for t in types(p)]
        return [node.get("type")]
    pipeline = types(tokenizer_json.get("decoder")) + types(tokenizer_json.get("pre_tokenizer"))
    if "ByteLevel" in pipeline:
        return "byte_level"
    if (tokenizer_json.get("model") or {}).get("type") == "WordPiece" or "WordPiece" in pipeline:
        return "wordpiece"
    return "sentencepiece"


def _token_bytes(piece: str, kind: str, byte_map: dict[str, int]) -> bytes:
    if kind == "byte_level":
        try:
            return bytes(byte_map[c] for c in piece)
        except KeyError:                       # an added token written in plain text
            return piece.encode()
    if kind == "wordpiece":
        return piece[2:].encode() if piece.startswith("##") else (" " + piece).encode()
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        try:
            return bytes([int(piece[3:5], 16)])
        except ValueError:
            pass
    return piece.replace("\u2581", " ").encode()


@dataclass(eq=False)
class TokenVocabulary:
    """Token id → bytes for one tokenizer, plus the arrays the automata use.

    ``generable[i]`` is False for special tokens and tokens with no bytes: the sampler never
    places them on the canvas.
    """
    token_bytes: list[bytes]
    generable: np.ndarray                       # (V,) bool
    content_hash: str
    kind: str
    _matrix: np.ndarray | None = field(default=None, repr=False)
    _trie: "TokenTrie | None" = field(default=None, repr=False)
    _coarse: "TokenTrie | None" = field(default=None, repr=False)
    _plain: np.ndarray | None = field(default=None, repr=False)
    _lookup: dict[bytes, int] | None = field(default=None, repr=False)
    _widest: int | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.token_bytes)

    @property
    def byte_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(V, max_len) uint8 token bytes, zero padded, and (V,) lengths."""
        if self._matrix is None:
            lengths = np.fromiter((len(b) for b in self.token_bytes), np.int32, self.size)
            width = max(1, int(lengths.max()))
            flat = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in self.token_bytes), np.uint8)
            self._matrix = flat.reshape(self.size, width)
            self._lengths = lengths
        return self._matrix, self._lengths

    @property
    def widest(self) -> int:
        """Bytes in the longest generable token (read for every slot: computed once)."""
        if self._widest is None:
            self._widest = int(self.byte_matrix[1][self.generable].max(initial=0))
        return self._widest

    @property
    def trie(self) -> "TokenTrie":
        """Prefix tree of all token byte strings (built once, on first use)."""
        if self._trie is None:
            self._trie = TokenTrie.build(*self.byte_matrix)
        return self._trie

    def trie_for(self, class_of: np.ndarray) -> tuple["TokenTrie", np.ndarray]:
        """(trie, class of each of its symbols) to read a DFA's byte classes off.

        The coarse trie (ASCII bytes each their own symbol, other bytes by their UTF-8 role)
        has about half the nodes of the byte trie; a DFA that never tells two bytes of one
        role apart (any JSON string, digits, keys) is read off it, others off the byte trie.
        """
        if (class_of == class_of[_ROLE_PEER]).all():
            return self.coarse_trie, class_of[_ROLE_FIRST_BYTE]
        return self.trie, class_of

    @property
    def coarse_trie(self) -> "TokenTrie":
        """The token trie over UTF-8 roles (see ``trie_for``), built once."""
        if self._coarse is None:
            self._coarse = self.trie.coarsened(_ROLE_OF_BYTE)
        return self._coarse

    def first_symbols(self, coarse: bool) -> np.ndarray:
        """(V,) each token's first symbol in the byte trie, or (``coarse``) the coarse one."""
        first = self.byte_matrix[0][:, 0].astype(np.int64)
        return _ROLE_OF_BYTE[first] if coarse else first

    def trie_of(self, ids: np.ndarray, coarse: bool) -> "TokenTrie":
        """The trie of the tokens ``ids`` only, over bytes or (``coarse``) UTF-8 roles."""
        matrix, lengths = self.byte_matrix
        trie = TokenTrie.build(matrix[ids], lengths[ids])
        return trie.coarsened(_ROLE_OF_BYTE) if coarse else trie

    @property
    def plain_chars(self) -> np.ndarray:
        """(V,) int32: the characters of each *plain* token, 0 for the others. A plain token
        is whole UTF-8 characters, none a control character, quote or backslash: the text
        any JSON string holds as it is, so inside a string it only counts characters (nearly
        every token of a real vocabulary; automata read them in bulk, see TokenAutomaton)."""
        if self._plain is None:
            self._plain = np.array([_plain_length(b) for b in self.token_bytes], np.int32)
        return self._plain

    def lookup(self) -> dict[bytes, int]:
        """bytes → a generable token id (the lowest id when several share bytes), built once."""
        if self._lookup is None:
            ids = np.flatnonzero(self.generable)[::-1].tolist()     # the lowest id written last, and kept
            self._lookup = {self.token_bytes[i]: i for i in ids}
        return self._lookup

    def tokenize_exact(self, text: str) -> list[int]:
        """Fewest tokens whose bytes concatenate to exactly ``text`` (for pinned skeleton text).

        Not ``tokenizer.encode``: that may normalise, add prefixes or merge across the
        slot boundary, while the canvas needs these exact bytes and nothing else.
        """
        data = text.encode()
        table = self.lookup()
        longest = self.widest
        best: list[tuple[int, int] | None] = [None] * (len(data) + 1)
        best[0] = (0, -1)
        for i in range(len(data)):
            if best[i] is None:
                continue
            for j in range(min(len(data), i + longest), i, -1):
                tid = table.get(data[i:j])
                if tid is not None and (best[j] is None or best[j][0] > best[i][0] + 1):
                    best[j] = (best[i][0] + 1, tid)
        if best[-1] is None:
            raise ValueError(f"the vocabulary cannot spell {text!r}")
        ids, pos = [], len(data)
        while pos > 0:
            tid = best[pos][1]
            ids.append(tid)
            pos -= len(self.token_bytes[tid])
        return ids[::-1]

    def decode(self, ids) -> bytes:
        return b"".join(self.token_bytes[int(i)] for i in ids)

    @classmethod
    def from_token_bytes(cls, token_bytes: list[bytes], special_ids=()) -> "TokenVocabulary":
        """A vocabulary given directly as bytes (for tests and custom tokenizers)."""
        special = set(special_ids)
        generable = np.array([bool(b) and i not in special for i, b in enumerate(token_bytes)], bool)
        key = hashlib.sha256(repr((token_bytes, sorted(special))).encode()).hexdigest()[:16]
        return cls(list(token_bytes), generable, key, "bytes")

    @classmethod
    def from_tokenizer(cls, tokenizer, size: int | None = None) -> "TokenVocabulary":
        """Build from a Hugging Face tokenizer (fast) or a ``tokenizers.Tokenizer``.

        ``size`` may exceed the tokenizer's length (models pad their embedding); the extra
        ids are not generable.
        """
        backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
        spec = backend.to_str()
        special_ids = sorted(set(getattr(tokenizer, "all_special_ids", []) or []))
        salt = f"{_ANALYSIS_VERSION}{special_ids}"      # a new analysis invalidates old cache files
        key = hashlib.sha256((spec + salt).encode()).hexdigest()[:16] + f"-{size}"
        cached = _CACHE.get(key) or _load_cached(key)
        if cached is not None:
            _CACHE[key] = cached
            return cached
        data = json.loads(spec)
        kind = _kind_of(data)
        vocab = backend.get_vocab(with_added_tokens=True)
        n = max(size or 0, max(vocab.values()) + 1)
        pieces = [""] * n
        for piece, idx in vocab.items():
            pieces[idx] = piece
        special = {t["id"] for t in data.get("added_tokens", []) if t.get("special")}
        special |= set(getattr(tokenizer, "all_special_ids", []) or [])
        added = {t["id"]: t["content"] for t in data.get("added_tokens", [])}
        byte_map = _byte_level_decoder()
        token_bytes = [
            (_token_bytes(added[i], kind, byte_map) if kind == "sentencepiece" else added[i].encode())
            if i in added else _token_bytes(p, kind, byte_map) if p else b""
            for i, p in enumerate(pieces)
        ]
        generable = np.array([bool(b) and i not in special for i, b in enumerate(token_bytes)], bool)
        out = cls(token_bytes, generable, key, kind)
        _CACHE[key] = out
        _save_cached(out)
        return out


def _plain_length(data: bytes) -> int:
    """Characters of a plain token (see ``TokenVocabulary.plain_chars``), else 0."""
    try:
        text = data.decode()             # strict: no surrogates, overlong forms or partial characters
    except UnicodeDecodeError:
        return 0
    if not text or '"' in text or "\\" in text or min(text) < " ":
        return 0
    return len(text)


@dataclass(eq=False)
class TokenTrie:
    """Every distinct token prefix is a node; nodes are numbered depth by depth.

    ``parent[i]``/``byte[i]``: node i is its parent's string plus one byte (node 0 is the
    empty root); ``depth_start[d]`` is the first node of depth d; ``token_node[t]`` is
    token t's node. Walking an automaton over this tree reads each shared prefix once.
    """
    parent: np.ndarray
    byte: np.ndarray
    depth_start: np.ndarray
    token_node: np.ndarray

    @classmethod
    def build(cls, matrix: np.ndarray, lengths: np.ndarray) -> "TokenTrie":
        node = np.zeros(len(lengths), np.int64)            # each token's node at the current depth
        parents, bytes_, starts = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)], [0, 1]
        count = 1
        for d in range(matrix.shape[1]):
            alive = np.nonzero(lengths > d)[0]
            if not len(alive):
                break
            keys = node[alive] * 256 + matrix[alive, d]
            uniq, inv = np.unique(keys, return_inverse=True)
            node[alive] = count + inv.reshape(-1)
            parents.append(uniq // 256)
            bytes_.append(uniq % 256)
            count += len(uniq)
            starts.append(count)
        return cls(np.concatenate(parents), np.concatenate(bytes_), np.array(starts), node)

    def coarsened(self, symbol_of: np.ndarray) -> "TokenTrie":
        """The trie with each symbol replaced by ``symbol_of[symbol]`` (prefixes merged)."""
        parent, symbol, depth_start, node = self.class_sequences(symbol_of)
        return TokenTrie(parent, symbol, depth_start, node[self.token_node])

    def class_sequences(self, class_of: np.ndarray):
        """Group nodes by their sequence of byte classes.

        Returns (seq_parent, seq_class, depth_start, node_seq): sequence j extends sequence
        ``seq_parent[j]`` by class ``seq_class[j]``; ``node_seq[i]`` is node i's sequence.
        Sequences are numbered depth by depth, by (parent, class) within a depth. A depth's
        keys (parent sequence, class) are bounded by the previous depth's count, so they are
        deduplicated by marking a table, not by sorting (10x faster on 262k vocabularies).
        """
        n_classes = int(class_of.max()) + 1
        class_of = class_of.astype(np.int64)
        node_seq = np.zeros(len(self.parent), np.int64)
        seq_parent, seq_class, starts = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)], [0, 1]
        count, prev_start = 1, 0
        for d in range(1, len(self.depth_start) - 1):
            lo, hi = self.depth_start[d], self.depth_start[d + 1]
            keys = (node_seq[self.parent[lo:hi]] - prev_start) * n_classes + class_of[self.byte[lo:hi]]
            present = np.zeros((count - prev_start) * n_classes, bool)
            present[keys] = True
            uniq = np.flatnonzero(present)
            rank = np.empty(len(present), np.int64)       # written only where keys are: no pass over the table
            rank[uniq] = np.arange(count, count + len(uniq))
            node_seq[lo:hi] = rank[keys]
            seq_parent.append(uniq // n_classes + prev_start)
            seq_class.append(uniq % n_classes)
            prev_start, count = count, count + len(uniq)
            starts.append(count)
        return np.concatenate(seq_parent), np.concatenate(seq_class), np.array(starts), node_seq


def _utf8_roles() -> np.ndarray:
    """Each byte's symbol in the coarse trie: ASCII bytes their own, other bytes by the part
    they play in UTF-8 (continuations split where lead bytes E0, ED, F0 and F4 need it)."""
    role = np.arange(256)
    for i, (lo, hi) in enumerate([(0x80, 0x8F), (0x90, 0x9F), (0xA0, 0xBF), (0xC0, 0xC1), (0xC2, 0xDF),
                                  (0xE0, 0xE0), (0xE1, 0xEC), (0xED, 0xED), (0xEE, 0xEF), (0xF0, 0xF0),
                                  (0xF1, 0xF3), (0xF4, 0xF4), (0xF5, 0xFF)]):
        role[lo:hi + 1] = 128 + i
    return role


_ROLE_OF_BYTE = _utf8_roles()
_ROLE_FIRST_BYTE = np.array([int(np.nonzero(_ROLE_OF_BYTE == r)[0][0]) for r in range(_ROLE_OF_BYTE.max() + 1)])
_ROLE_PEER = _ROLE_FIRST_BYTE[_ROLE_OF_BYTE]        # each byte's role's first byte
_TRIE_FIELDS = ("parent", "byte", "depth_start", "token_node")
_CACHE: dict[str, TokenVocabulary] = {}
_ANALYSIS_VERSION = 3


def cache_dir() -> Path:
    """Where tokenizer analyses are kept (``$CONSTRAINED_CACHE``, else ~/.cache/constrained)."""
    return Path(os.environ.get("CONSTRAINED_CACHE", Path.home() / ".cache" / "constrained"))


def _cache_file(key: str) -> Path:
    return cache_dir() / f"vocab-{key}.npz"


def _save_cached(vocab: TokenVocabulary) -> None:
    """Store the analysis (bytes, byte matrix, plain tokens, byte and coarse tries) so the next process loads it in a blink."""
    matrix, lengths = vocab.byte_matrix
    tries = {"": vocab.trie, "coarse_": vocab.coarse_trie}
    path = _cache_file(vocab.content_hash)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, matrix=matrix, lengths=lengths, generable=vocab.generable, kind=np.array(vocab.kind),
                 plain_chars=vocab.plain_chars,
                 **{prefix + name: getattr(trie, name) for prefix, trie in tries.items() for name in _TRIE_FIELDS})
        os.replace(tmp, path)
    except OSError:
        pass          # a read-only home only costs the analysis again next time


def _load_cached(key: str) -> TokenVocabulary | None:
    path = _cache_file(key)
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            matrix, lengths = z["matrix"], z["lengths"]
            flat, width = matrix.tobytes(), matrix.shape[1]      # slicing bytes: 5x faster than per-row tobytes
            token_bytes = [flat[i * width: i * width + n] for i, n in enumerate(lengths.tolist())]
            vocab = TokenVocabulary(token_bytes, z["generable"], key, str(z["kind"]))
            vocab._matrix, vocab._lengths, vocab._plain = matrix, lengths, z["plain_chars"]
            vocab._trie, vocab._coarse = (TokenTrie(*(z[prefix + name] for name in _TRIE_FIELDS))
                                          for prefix in ("", "coarse_"))
        return vocab
    except (OSError, KeyError, ValueError):
        return None   # a damaged cache file is rebuilt
