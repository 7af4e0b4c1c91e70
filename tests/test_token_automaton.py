"""The token automaton reads tokens exactly as the byte DFA reads their bytes, on random
vocabularies; and the hash grouping of equal columns is exact, collisions included."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrained.automaton import distinct
from constrained.automaton.dfa import DEAD, compile_dfa
from constrained.automaton.distinct import distinct_columns, distinct_rows
from constrained.automaton.regex import seq, star
from constrained.compile.json_schema import SchemaCompiler
from constrained.errors import SchemaTooComplexError
from constrained.template import WHITESPACE
from constrained import token_automaton
from constrained.token_automaton import TokenAutomaton, token_automata
from constrained.vocabulary import TokenVocabulary

ALPHABET = [b'"', b"\\", b"a", b"b", b"z", b"0", b"1", b"9", b"-", b".", b"e", b" ", b"\n", b"u",
            b"t", b"r", b"n", b"l", b"\xc3", b"\xa9", b"\xe4", b"\xb8",
            b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80", b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\x7f", b"\x01"]
SLOTS = [
    {"type": "string"},
    {"type": "string", "maxLength": 3},
    {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"},
    {"type": "integer", "minimum": -5, "maximum": 120},
    {"type": "number"},
    {"enum": ["ab", "ba", 10, None, True]},
    {"type": "string", "format": "date"},
    {"anyOf": [{"type": "boolean"}, {"type": "string", "maxLength": 2}]},
    {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 3}},
    {"type": "string", "pattern": "^[é-ö]+$"},       # splits UTF-8 continuation bytes: the byte trie
    {"type": "string", "minLength": 1, "maxLength": 40},
    {"type": "array", "items": {"type": "string", "not": {"const": "ab"}}, "maxItems": 2},
]
# tokens that enter, leave and re-enter a counted loop (a string's length) within themselves
SPANNING = [b'"abzb', b'"a"', b'", "a", ', b'a", "', b'ab", "ab', b'"ab"', b'", "abz', b'["a', b'a"]', b'zz', b'bzb']


def _byte_run(dfa, data: bytes):
    """(alive, accepted) after reading ``data`` from the start, loop counts included."""
    q, count = 0, 0
    for b in data:
        nxt = int(dfa.trans[q, b])
        if nxt == DEAD:
            return False, False
        if dfa.segment is not None:
            count, ok = dfa.count_step(q, count, nxt)
            if not ok:
                return False, False
        q = nxt
    return True, bool(dfa.accepts(q, count))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=5).map(b"".join), min_size=0,
                max_size=40, unique=True),
       st.sampled_from(SLOTS), st.randoms(use_true_random=False))
def test_tokens_read_like_their_bytes(words, schema, rng):
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING + words, special_ids=[0])
    (slot,) = SchemaCompiler(schema).layout()
    dfa = compile_dfa(seq(slot.node, star(WHITESPACE)))
    automaton = TokenAutomaton(dfa, vocab)
    n = automaton.dead
    for q in range(n):                         # one step over open positions: the table's moves
        one = np.arange(n) == q
        assert set(np.flatnonzero(automaton.forward_open(one))) == set(automaton.next[q].tolist()) - {n}
        assert set(np.flatnonzero(automaton.backward_open(one))) == set(np.nonzero(automaton.next[:n] == q)[0])
    ids = list(range(1, vocab.size))
    for _ in range(8):
        states, data = automaton.start, b""
        for _ in range(rng.randrange(1, 9)):
            viable = []
            for token in ids:                  # every token from here, against its bytes
                after, text = automaton.forward_token(states, token), data + vocab.token_bytes[token]
                alive, accepted = _byte_run(dfa, text)
                assert bool(after.any()) == alive, text
                assert bool((after & automaton.accept).any()) == accepted, text
                if alive:
                    viable.append(token)
            if not viable:
                break
            token = rng.choice(viable)
            states, data = automaton.forward_token(states, token), data + vocab.token_bytes[token]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=5).map(b"".join), max_size=40, unique=True),
       st.lists(st.sampled_from(SLOTS), min_size=2, max_size=5))
def test_automata_read_together_are_those_read_alone(words, schemas):
    """One walk for several small DFAs gives each the automaton it has alone; the others
    (the byte trie's, or large) are left to be built alone."""
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING + words, special_ids=[0])
    dfas = [compile_dfa(seq(SchemaCompiler(s).layout()[0].node, star(WHITESPACE))) for s in schemas]
    together = token_automata(dfas, vocab)
    picked = [vocab.trie_for(d.byte_classes()[0])[0] is vocab.coarse_trie and 0 < d.n_states <= 64 for d in dfas]
    tokens = np.flatnonzero(vocab.generable)
    for dfa, joint, read_together in zip(dfas, together, picked):
        if sum(picked) < 2 or not read_together:
            assert joint is None
            continue
        alone = TokenAutomaton(dfa, vocab)
        assert np.array_equal(joint.accept, alone.accept)
        assert np.array_equal(joint.next[:, joint.tok2u[tokens]], alone.next[:, alone.tok2u[tokens]])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 4), st.randoms(use_true_random=False))
def test_distinct_columns_group_exactly_equal_columns(n_rows, n_cols, span, rng):
    table = np.array([[rng.randrange(span) for _ in range(n_cols)] for _ in range(n_rows)])
    rows, cols = np.nonzero(table != 0)
    got, inverse = distinct_columns(rows, cols, table[rows, cols], table.shape, 0)
    assert np.array_equal(got[:, inverse], table)
    assert got.shape[1] == len({tuple(c) for c in table.T})
    by_rows = distinct_rows(table.T)[1]            # the same grouping, numbered its own way
    assert len(set(zip(by_rows, inverse))) == len(set(by_rows)) == len(set(inverse))


def test_column_sums_are_exact_sums_modulo_2_64():
    """uint64 values summed per column in float64 pieces: exact, also past 2**21 entries a column."""
    rng = np.random.default_rng(0)
    for most in (5, 1000, (1 << 21) + 10):
        values = rng.integers(0, 2**64, most + 3, dtype=np.uint64)
        cols = (np.arange(len(values)) >= most).astype(np.intp)      # column 0: ``most`` entries; column 1: 3
        want = [sum(int(v) for v in values[cols == c]) % 2**64 for c in (0, 1)]
        assert distinct._column_sums(cols, values, 2, most).tolist() == want


def test_a_hash_collision_is_caught_and_retried(monkeypatch):
    table = np.array([[1, 2, 1, 3], [4, 4, 4, 0]])
    sums, calls = distinct._column_sums, []

    def colliding(cols, values, n_cols, most):       # every column hashes alike the first time
        calls.append(1)
        return np.zeros(n_cols, np.uint64) if len(calls) == 1 else sums(cols, values, n_cols, most)
    monkeypatch.setattr(distinct, "_column_sums", colliding)
    rows, cols = np.nonzero(table != 0)
    got, inverse = distinct_columns(rows, cols, table[rows, cols], table.shape, 0)
    assert len(calls) == 2 and got.shape[1] == 3
    assert np.array_equal(got[:, inverse], table)


@pytest.mark.parametrize("schema", SLOTS[:4])
def test_tokens_that_act_alike_share_a_column(schema):
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + [b"ab", b"ba", b"zz", b"00", b"19"], special_ids=[0])
    (slot,) = SchemaCompiler(schema).layout()
    automaton = TokenAutomaton(compile_dfa(seq(slot.node, star(WHITESPACE))), vocab)
    columns = automaton.next[:, automaton.tok2u[vocab.generable]]
    assert automaton.next.shape[1] == len({tuple(c) for c in columns.T})
    assert (automaton.tok2u[~vocab.generable] == automaton.next.shape[1]).all()     # never placed


def test_dfas_read_the_coarse_trie_unless_they_split_a_utf8_role():
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING, special_ids=[0])
    for schema, coarse in ((SLOTS[0], True), (SLOTS[6], True), (SLOTS[9], False)):
        (slot,) = SchemaCompiler(schema).layout()
        class_of, _ = compile_dfa(seq(slot.node, star(WHITESPACE))).byte_classes()
        assert (vocab.trie_for(class_of)[0] is vocab.coarse_trie) == coarse


@pytest.mark.parametrize("schema", SLOTS)
def test_a_dense_walk_reads_the_class_tree_to_the_same_moves(schema, monkeypatch):
    """Past its budget the walk reads the DFA's class tree instead of the vocabulary's trie:
    the same moves for every token, and the same tokens listed for any columns."""
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING + [b"ab", b"zz", b'a"b', b"\xe4\xb8\xad"],
                                             special_ids=[0])
    (slot,) = SchemaCompiler(schema).layout()
    dfa = compile_dfa(seq(slot.node, star(WHITESPACE)))
    trie_read = TokenAutomaton(dfa, vocab)
    monkeypatch.setattr(token_automaton, "_DENSE_WALK", 0)
    monkeypatch.setattr(token_automaton, "_FEW", 1)          # every row listed off keys
    class_read = TokenAutomaton(dfa, vocab)
    tokens = np.flatnonzero(vocab.generable)
    assert np.array_equal(trie_read.next[:, trie_read.tok2u[tokens]], class_read.next[:, class_read.tok2u[tokens]])
    rng = np.random.default_rng(0)
    for _ in range(20):
        columns = rng.random(class_read.next.shape[1]) < 0.3
        want = tokens[columns[class_read.tok2u[tokens]]]
        assert np.array_equal(np.flatnonzero(class_read.tokens_of(columns)), want)
        assert class_read.count_of(columns) == len(want)
        assert np.array_equal(class_read.few_tokens_of(columns), want)


def test_a_walk_past_its_limit_is_refused_as_too_complex(monkeypatch):
    """The limit holds in every walk (the plain loops' one included), as the typed error
    the compiler narrows a slot on, never as the walk's internal signal."""
    monkeypatch.setattr(token_automaton, "MAX_WALK", 20)
    vocab = TokenVocabulary.from_token_bytes([b"x" * k + b'"' for k in range(1, 30)] + [b"a"])
    (slot,) = SchemaCompiler(SLOTS[0]).layout()
    with pytest.raises(SchemaTooComplexError):
        TokenAutomaton(compile_dfa(seq(slot.node, star(WHITESPACE))), vocab)


def test_a_walk_on_course_to_pass_its_limit_is_refused_early(monkeypatch):
    """From depth 2 on, a walk whose frontier, spread over the nodes below, would pass
    the limit several times over is refused before reading that far; one that ends
    within the limit never is."""
    letters = [bytes(t) for k in range(1, 6) for t in itertools.product(b"abcd", repeat=k)]
    vocab = TokenVocabulary.from_token_bytes(letters + [b'"', b" "])
    (slot,) = SchemaCompiler({"type": "string", "pattern": "^[a-d]+( [a-d]+){0,9}$"}).layout()
    dfa = compile_dfa(seq(slot.node, star(WHITESPACE)))
    walks = []

    class Kept(token_automaton._Walk):
        def __init__(self, *args):
            super().__init__(*args)
            walks.append(self)

    monkeypatch.setattr(token_automaton, "_Walk", Kept)
    TokenAutomaton(dfa, vocab)
    total = walks[-1].visited
    monkeypatch.setattr(token_automaton, "MAX_WALK", total)
    TokenAutomaton(dfa, vocab)
    assert walks[-1].visited == total
    monkeypatch.setattr(token_automaton, "MAX_WALK", total // 8)
    with pytest.raises(SchemaTooComplexError, match="on course"):
        TokenAutomaton(dfa, vocab)


def test_a_vocabulary_with_no_generable_token_spells_nothing():
    (slot,) = SchemaCompiler(SLOTS[0]).layout()
    automaton = TokenAutomaton(compile_dfa(seq(slot.node, star(WHITESPACE))),
                               TokenVocabulary.from_token_bytes([b"", b"a"], special_ids=[1]))
    assert automaton.min_tokens() is None


def test_plain_tokens_are_whole_characters_of_string_content():
    vocab = TokenVocabulary.from_token_bytes([b"", b"ab", b"a\x7f", b"\xe4\xb8\xad!", b"\xf0\x9f\x98\x80", b'a"', b"\\n",
                                              b"\x01", b"\xe4\xb8", b"\xed\xa0\x80", b"\xc0\x80"])
    assert vocab.plain_chars.tolist() == [0, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(("schema", "loops"), [(SLOTS[0], 1), (SLOTS[1], 1), (SLOTS[-2], 1), (SLOTS[8], 1),
                                               (SLOTS[2], 0), (SLOTS[-3], 0), (SLOTS[4], 0)])
def test_string_interiors_are_plain_loops(schema, loops):
    """Inside a string whose characters are free (length bounds or not), every plain token
    is read by arithmetic; a pattern that tells characters apart, or a number, walks them."""
    (slot,) = SchemaCompiler(schema).layout()
    dfa = compile_dfa(seq(slot.node, star(WHITESPACE)))
    class_of, table = dfa.byte_classes()
    assert token_automaton._Walk(dfa, table, class_of, class_of).plain_loops().sum() == loops


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(SLOTS), st.randoms(use_true_random=False))
def test_open_steps_are_the_union_of_token_steps(schema, rng):
    """An open position reads any generable token: one step over the sets equals the union
    of every token's step, forward and backward, for matrix and edge-list automata alike,
    over many states or few."""
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING, special_ids=[0])
    (slot,) = SchemaCompiler(schema).layout()
    automaton = TokenAutomaton(compile_dfa(seq(slot.node, star(WHITESPACE))), vocab)
    n, tokens = automaton.dead, range(1, vocab.size)
    for density in (0.3, 0.3, 0.02, 1 / n):          # dense sets walk every edge, sparse ones their states'
        states = np.array([rng.random() < density for _ in range(n)], bool)
        forward = np.any([automaton.forward_token(states, t) for t in tokens], axis=0)
        backward = np.any([automaton.backward_token(states, t) for t in tokens], axis=0)
        assert (automaton.forward_open(states) == forward).all()
        assert (automaton.backward_open(states) == backward).all()


RUNS = [c * k for c in (b" ", b"\n", b"a", b"0", b'"') for k in range(2, 14)] + [b"  \n", b"   x", b"00a"]


@pytest.mark.parametrize("schema", SLOTS)
@pytest.mark.parametrize("dense", [False, True])
def test_runs_read_at_once_give_the_moves_of_the_walk_byte_by_byte(schema, dense, monkeypatch):
    """Runs of one symbol (long whitespace tokens) are read at once from states that loop on
    them: the same moves for every token as reading them one trie level at a time."""
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING + RUNS, special_ids=[0])
    (slot,) = SchemaCompiler(schema).layout()
    dfa = compile_dfa(seq(slot.node, star(WHITESPACE)))
    if dense:
        monkeypatch.setattr(token_automaton, "_DENSE_WALK", 0)
    at_once = TokenAutomaton(dfa, vocab)
    monkeypatch.setattr(token_automaton, "_RUN_FRONTIER", -1)
    by_level = TokenAutomaton(dfa, vocab)
    tokens = np.flatnonzero(vocab.generable)
    assert np.array_equal(at_once.next[:, at_once.tok2u[tokens]], by_level.next[:, by_level.tok2u[tokens]])


def test_a_run_is_the_chain_below_a_node_of_one_repeated_symbol():
    vocab = TokenVocabulary.from_token_bytes([b"x", b"xa", b"xaa", b"xaaa", b"xb", b"y", b"yc", b"ycc", b"ycd"])
    tree = token_automaton._Tree.of(vocab.trie)
    spelled = {}
    for node in range(len(tree.symbol)):
        below = tree.run_nodes[tree.run_at[node]:][:tree.run_len[node]]
        spelled[node] = bytes(tree.symbol[below].tolist())
    x, y = (int(tree.symbol.tolist().index(ord(c))) for c in "xy")
    assert spelled[x] == b"" and spelled[y] == b""          # two kinds of children below each
    xa = int(tree.child_start[x])                            # children ordered by byte: 'a' first
    assert spelled[xa] == b"aa" and tree.run_symbol[xa] == ord("a")
    yc = int(tree.child_start[y])
    assert spelled[yc] == b""                                # 'c' then 'c' or 'd': no run
    assert sum(len(v) for v in spelled.values()) == 2 + 1    # xa: aa, xaa: a


def test_plain_tokens_entering_a_string_after_an_escape_move_as_when_walked(monkeypatch):
    """After a backslash (or a string's last \\u digit) a plain token enters the string's
    loop on its first character and stays there, counting its characters where the
    string's length is bounded: read by arithmetic, not walked, to the same moves as
    walking every token from those states."""
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING + [
        b"nab", b"name", b'n"', b"u00e", b"0a1", b"ab\\n", b"tz", b"\\u00", b"b9", b"\xc3\xa9a"],
        special_ids=[0])

    def nothing_entered(walk):
        counts = [np.zeros(0, np.int16)] * 2 + [np.zeros(0, bool)] if walk.counted else []
        return [np.zeros(0, np.int64)] * 3 + counts
    for schema in ({"type": "string"}, {"type": ["string", "null"]}, {"type": "array", "items": {"type": "string"}},
                   {"type": "string", "maxLength": 4}, {"type": "string", "minLength": 2, "maxLength": 40},
                   {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2}):
        (slot,) = SchemaCompiler(schema).layout()
        dfa = compile_dfa(seq(slot.node, star(WHITESPACE)))
        entered = []
        with monkeypatch.context() as m:
            walk_entering = token_automaton._Walk.entering
            m.setattr(token_automaton._Walk, "entering",
                      lambda self, *a: entered.append(walk_entering(self, *a)) or entered[-1])
            by_first_symbol = TokenAutomaton(dfa, vocab)
        assert len(entered[0][1][0])              # some plain keys were read by arithmetic
        with monkeypatch.context() as m:
            m.setattr(token_automaton._Walk, "entering", lambda self, split, others, loops, rest: (
                self.run(split.every, others, self.moves, token_automaton._DENSE_WALK), nothing_entered(self)))
            walked = TokenAutomaton(dfa, vocab)
        tokens = np.flatnonzero(vocab.generable)
        assert np.array_equal(by_first_symbol.next[:, by_first_symbol.tok2u[tokens]], walked.next[:, walked.tok2u[tokens]])


@pytest.mark.parametrize("schema", [SLOTS[4], SLOTS[10],
                                    {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 12}},
                                    {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 4}])
def test_allowed_columns_read_off_live_entries_equal_whole_rows(schema):
    """Large automata list the columns between two state sets off the table's live entries:
    the same columns as reading the rows of every state in the first set."""
    vocab = TokenVocabulary.from_token_bytes([b""] + ALPHABET + SPANNING + RUNS, special_ids=[0])
    (slot,) = SchemaCompiler(schema).layout()
    automaton = TokenAutomaton(compile_dfa(seq(slot.node, star(WHITESPACE))), vocab)
    assert automaton.dead > token_automaton._SMALL         # small automata read whole rows
    rng = np.random.default_rng(0)
    for density in (0.01, 0.05, 0.3, 0.9):
        for _ in range(10):
            before, after = (rng.random(automaton.dead) < density for _ in range(2))
            rows = np.append(after, False)[automaton.next[:-1][before]].any(axis=0)
            assert np.array_equal(automaton.allowed_columns(before, after), rows)
