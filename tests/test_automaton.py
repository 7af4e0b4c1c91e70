"""Byte-level regexes and DFAs against Python's own notion of the same languages."""
import gc
import json
import re
import traceback
from datetime import date, datetime, time
from decimal import Decimal

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrained.automaton import dfa as dfa_module
from constrained.automaton.dfa import compile_dfa, product
from constrained.automaton.regex import alt, lit, optional, repeat, seq, star, subsequence
from constrained.automaton.utf8 import codepoint_ranges
from constrained.compile.formats import format_pattern
from constrained.compile.json_schema import SchemaCompiler, Slot
from constrained.compile.numbers import fraction_multiple_regex, multiple_regex, number_regex
from constrained.compile.strings import json_string, other_than, pattern_content
from constrained.errors import SchemaTooComplexError
from constrained.template import WHITESPACE


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 0x10FFFF), st.integers(0, 0x10FFFF), st.lists(st.integers(0, 0x10FFFF), max_size=20))
def test_codepoint_ranges_accept_exactly_their_utf8(a, b, probes):
    lo, hi = min(a, b), max(a, b)
    dfa = compile_dfa(codepoint_ranges([(lo, hi)]))
    for cp in probes + [lo, hi, lo - 1, hi + 1]:
        if not 0 <= cp <= 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            continue
        assert dfa.matches(chr(cp).encode()) == (lo <= cp <= hi)
    assert not dfa.matches(b"\xed\xa0\x80")      # a UTF-8-encoded surrogate is never valid
    assert not dfa.matches(b"\xc0\xaf")          # nor an overlong encoding


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=12))
def test_json_string_accepts_json_dumps(text):
    dfa = compile_dfa(json_string(0, 12))
    assert dfa.matches(json.dumps(text, ensure_ascii=False).encode())
    assert not dfa.matches(json.dumps(text + "x" * 13, ensure_ascii=False).encode())


bounds = st.one_of(st.none(), st.integers(-150, 150), st.decimals(-150, 150, places=2, allow_nan=False))


@settings(max_examples=120, deadline=None)
@given(bounds, bounds, st.booleans(), st.booleans(), st.booleans(),
       st.lists(st.decimals(-200, 200, places=3, allow_nan=False), min_size=5, max_size=30))
def test_number_ranges_are_exact(lo, hi, lo_x, hi_x, integer, probes):
    dfa = compile_dfa(number_regex(lo, hi, lo_x, hi_x, integer))
    extra = [Decimal(str(b)) + d for b in (lo, hi) if b is not None for d in (Decimal("-0.01"), 0, Decimal("0.01"))]
    for x in probes + extra:
        x = Decimal(int(x)) if integer else x
        text = format(x.normalize() if x != x.to_integral() else x.to_integral(), "f")
        if text.startswith("-0") and Decimal(text) == 0:
            continue
        inside = (lo is None or (x > Decimal(str(lo)) if lo_x else x >= Decimal(str(lo)))) and \
                 (hi is None or (x < Decimal(str(hi)) if hi_x else x <= Decimal(str(hi))))
        assert dfa.matches(text.encode()) == inside, (text, lo, hi, lo_x, hi_x)


PATTERNS = [r"^[a-z]+$", r"^\d{3}-\d{4}$", r"abc", r"^(foo|bar)+baz?$", r"^[^0-9]*$", r"^\w+@\w+\.com$",
            r"^.{2,4}$", r"^[A-Z][a-z]*( [A-Z][a-z]*)*$", r"x$|^y"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PATTERNS), st.text(alphabet="abcxyzfoobarAZ09-_@. é\n", max_size=10))
def test_patterns_agree_with_python_re_search(pattern, text):
    dfa = compile_dfa(seq(lit('"'), pattern_content(pattern), lit('"')))
    if dfa.matches(json.dumps(text, ensure_ascii=False).encode()):
        assert re.search(pattern, text)
    elif re.search(pattern, text) and text.isascii() and "\n" not in text:
        raise AssertionError(f"{pattern!r} should accept {text!r}")


def _walk(dfa, rng, limit=64):
    """A random accepted string of the DFA."""
    import numpy as np
    q, out = 0, bytearray()
    for _ in range(limit):
        if dfa.accept[q] and (rng.random() < 0.3 or not (dfa.trans[q] >= 0).any()):
            return bytes(out)
        choices = np.nonzero(dfa.trans[q] >= 0)[0]
        b = int(rng.choice(choices))
        out.append(b)
        q = int(dfa.trans[q, b])
    return None


def test_formats_emit_values_python_parses():
    import random
    rng = random.Random(0)
    parsers = {"date": date.fromisoformat, "date-time": datetime.fromisoformat, "time": time.fromisoformat}
    for name, parse in parsers.items():
        dfa = compile_dfa(seq(lit('"'), pattern_content(format_pattern(name)), lit('"')))
        seen = 0
        while seen < 200:
            text = _walk(dfa, rng, 80)
            if text is not None:
                parse(json.loads(text))
                seen += 1
    assert not compile_dfa(seq(lit('"'), pattern_content(format_pattern("date")), lit('"'))).matches(b'"2023-02-29"')
    assert compile_dfa(seq(lit('"'), pattern_content(format_pattern("date")), lit('"'))).matches(b'"2024-02-29"')


def test_product_is_intersection():
    a = compile_dfa(repeat(alt(lit("a"), lit("b")), 0, None))
    b = compile_dfa(repeat(lit("a"), 2, 3))
    p = product(a, b)
    assert [p.matches(x) for x in (b"a", b"aa", b"aaa", b"aaaa", b"ab")] == [False, True, True, False, False]


def test_every_format_checker_accepts_what_we_emit():
    import random

    import jsonschema
    rng = random.Random(1)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for name in sorted(checker.checkers):
        dfa = compile_dfa(seq(lit('"'), pattern_content(format_pattern(name)), lit('"')))
        seen = 0
        while seen < 60:
            text = _walk(dfa, rng, 120)
            if text is not None:
                assert checker.conforms(json.loads(text), name), (name, text)
                seen += 1


_words = st.lists(st.text(alphabet="ab\"\u00e9\n", max_size=3), max_size=5)


@settings(max_examples=80, deadline=None)
@given(words=_words, probes=st.lists(st.text(alphabet="ab\"\u00e9\nc", max_size=4), max_size=10))
def test_other_than_accepts_every_string_but_the_words(words, probes):
    dfa = compile_dfa(json_string(0, None, other_than(words)))
    for text in probes + words + [w + "a" for w in words] + [w[:-1] for w in words]:
        assert dfa.matches(json.dumps(text, ensure_ascii=False).encode()) == (text not in words)


@pytest.mark.parametrize("pattern", [
    "^$|^\\+?([\\d\\s()-]){9,20}$", "(^[0-9]+\\.[0-9]+$)", "(^gs://(.+))|(^http://(.+))", "(^Hpt_|^Int_|_Armour_)",
    "^([^,]|$)", "^([0-9x]+\\.[0-9x]+\\.*[0-9x]*$|\\%VERSION\\%)"])
def test_anchors_inside_groups_and_alternations(pattern):
    texts = ["", "+123456789", "12.5", "gs://x", "xx http://a", "Hpt_1", "a_Armour_b", "Int_", "zInt_", ",", "a",
             "ab", "1.2.3", "%VERSION%", "x%VERSION%", "1.2\n"]
    emitted = compile_dfa(json_string(0, None, pattern_content(pattern)))
    accepted = compile_dfa(json_string(0, None, pattern_content(pattern, superset=True)))
    for text in texts:
        matches, encoded = re.search(pattern, text) is not None, json.dumps(text).encode()
        assert not emitted.matches(encoded) or matches
        assert accepted.matches(encoded) or not matches
    assert any(emitted.matches(json.dumps(t).encode()) for t in texts)


@pytest.mark.parametrize("step", [1, 2, 4, 5, 8, 10, 20, 25, 125, 250, 1000])
def test_multiple_regex_is_exactly_the_multiples(step):
    dfa = compile_dfa(multiple_regex(step, float_step=False))
    assert all(dfa.matches(str(n).encode()) == (n % step == 0) for n in range(-2100, 2100))
    assert dfa.matches(str(7 * step * 10 ** 20).encode())
    assert multiple_regex(3, float_step=False) is None and multiple_regex(16, float_step=False) is None
    capped = compile_dfa(multiple_regex(step, float_step=True))      # float division is exact below 2**53
    assert capped.matches(str(step * 10 ** (14 - len(str(step)))).encode()) and not capped.matches(b"1" + b"0" * 15)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0.01, 0.001, 0.02, 0.25, 0.125, 0.5]), st.integers(-10 ** 15, 10 ** 15))
def test_fraction_steps_emit_integers_validators_find_no_remainder_in(step, k):
    dfa = compile_dfa(fraction_multiple_regex(step))
    if dfa.matches(str(k).encode()):
        assert jsonschema.Draft202012Validator({"multipleOf": step}).is_valid(k)
    assert dfa.matches(b"7") and not dfa.matches(b"0.07")


def test_fraction_steps_too_close_to_call_are_refused():
    assert all(fraction_multiple_regex(step) is None for step in (0.1, 0.05, 0.2, 0.3, 0.0001, 1e-5, 2.5))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "ab", "ba", "c"]), min_size=0, max_size=6), st.integers(1, 5))
def test_subsequence_is_every_ordered_choice(parts, n_items):
    items = ["x", "yy", "x1", "z", "w"][:n_items]
    dfa = compile_dfa(subsequence([lit(i) for i in items], lit(",")))
    chosen = {",".join(c) for mask in range(1 << n_items)
              for c in [[items[i] for i in range(n_items) if mask >> i & 1]]}
    for text in chosen:
        assert dfa.matches(text.encode())
    probe = ",".join(parts)                     # unrelated texts are refused
    assert dfa.matches(probe.encode()) == (probe in chosen)
    assert not dfa.matches(b",".join([items[-1].encode(), items[0].encode()])) or n_items == 1


def test_many_optional_members_stay_linear():
    def states(n: int) -> int:
        members = {f"field{i}": {"type": "string", "maxLength": 40} for i in range(n)}
        (slot,) = SchemaCompiler({"type": "array", "items": {"type": "object", "properties": members}}).layout()
        dfa = compile_dfa(slot.node)
        assert dfa.bounds                                   # strings stay counted, not unrolled
        return dfa.n_states
    assert states(40) < 2.2 * states(20)                    # was quadratic, past 50,000 at 30


def _subset_states(node, monkeypatch) -> tuple[int, int]:
    """(states of ``node``'s subset construction, states of its minimal DFA)."""
    sizes = []
    explore = dfa_module._explore

    def recorded(*args, **kwargs):
        table, order = explore(*args, **kwargs)
        sizes.append(len(order))
        return table, order
    monkeypatch.setattr(dfa_module, "_explore", recorded)
    dfa_module.clear_caches()
    try:
        dfa = compile_dfa(node)
    finally:
        dfa_module.clear_caches()
    return sizes[-1], dfa.n_states


def _nested(wrap, depth: int):
    node = lit("null")
    for _ in range(depth):
        node = wrap(node)
    return node


@pytest.mark.parametrize("ranges", [[(0x20, 0x10FFFF)], [(0x80, 0xFFFF)], [(0xE9, 0xF6), (0x4E00, 0x9FFF)]])
def test_characters_ending_alike_share_their_end(ranges, monkeypatch):
    """UTF-8 sequences that end in the same byte ranges are written once around that end,
    so determinising a character (in every JSON string of a slot) makes no state more than
    its minimal DFA (11 more for any character when each sequence had its own)."""
    subset, minimal = _subset_states(seq(lit('"'), star(codepoint_ranges(ranges)), lit('"')), monkeypatch)
    assert subset == minimal


def test_nested_optional_members_are_determinised_without_copies(monkeypatch):
    """An optional member is entered with or without a separator before it: both share its
    states (a copy per context was 2x the subset states at every level, 3.6x at depth 4)."""
    def obj(value):
        return seq(lit("{"), subsequence([seq(lit('"a": '), value), seq(lit('"b": '), value)], lit(", ")), lit("}"))
    subset, minimal = _subset_states(_nested(obj, 3), monkeypatch)
    assert subset == minimal
    dfa = compile_dfa(_nested(obj, 2))
    assert dfa.matches(b'{"a": {"b": null}, "b": {}}') and not dfa.matches(b'{"a": {"b": null}, "a": {}}')


def test_nested_lists_read_each_item_once(monkeypatch):
    """``X (, X)*``: the loop re-enters the first item's states (seq flattens X into both)."""
    def array(item):
        return seq(lit("["), optional(seq(item, star(seq(lit(", "), item)))), lit("]"))
    (one, _), (three, minimal) = (_subset_states(_nested(array, n), monkeypatch) for n in (1, 3))
    assert three - minimal < one                          # doubled per level: 54 against 17
    dfa = compile_dfa(_nested(array, 2))
    assert all(dfa.matches(t) for t in (b"[]", b"[[], [null, null]]", b"[[null], [], [null]]"))
    assert not any(dfa.matches(t) for t in (b"[null]", b"[[null], null]", b"[[], ]", b"[[null, ]]"))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2), st.integers(0, 3), st.lists(st.text(alphabet="ab\"", max_size=6), max_size=4))
def test_counted_items_of_lists_and_optional_members_match_like_unrolled(lo, span, texts):
    """A counted item keeps one register: shared by a list's first item and its loop, copied
    per context in optional members (two entries at once would share a count)."""
    item = json_string(lo, lo + span)
    fits = all(lo <= len(t) <= lo + span for t in texts)
    array = seq(lit("["), optional(seq(item, star(seq(lit(", "), item)))), lit("]"))
    keys = [f'"k{i}": ' for i in range(4)]
    members = seq(lit("{"), subsequence([seq(lit(k), item) for k in keys], lit(", ")), lit("}"))
    for node, data in ((array, json.dumps(texts)), (members, json.dumps({f"k{i}": t for i, t in enumerate(texts)}))):
        counted, unrolled = compile_dfa(node), compile_dfa(node, counters=False)
        assert counted.bounds
        assert counted.matches(data.encode()) == unrolled.matches(data.encode()) == fits


def _isomorphic(a, b) -> bool:
    """Two DFAs are one up to numbering (both minimal: then they accept the same language)."""
    pairs, frontier = {(0, 0)}, [(0, 0)]
    while frontier:
        p, q = frontier.pop()
        if (a.accept[p], *(t[p] for t in a.tags())) != (b.accept[q], *(t[q] for t in b.tags())):
            return False
        for x, y in zip(a.trans[p].tolist(), b.trans[q].tolist()):
            if (x < 0) != (y < 0):
                return False
            if x >= 0 and (x, y) not in pairs:
                pairs.add((x, y))
                frontier.append((x, y))
    return (len({p for p, _ in pairs}) == a.n_states == len({q for _, q in pairs}) == b.n_states
            and a.bounds == b.bounds)


@pytest.mark.parametrize("value", [
    {"type": "string"}, {"type": "string", "maxLength": 3}, {"type": "integer"}, {"enum": ["a", 1, None]},
    {"type": "array", "items": {"type": "string", "maxLength": 2}}, {"type": "object", "properties": {"x": {}}},
])
def test_optional_members_built_from_their_value_are_the_determinised_automaton(value, monkeypatch):
    """An optional member (``, "key": value`` or, before the first required one,
    ``"key": value, ``) is its key spelled into the value's cached DFA: once minimised, the
    automaton determinising the whole slot makes, and larger only by the tail's states
    (left unmerged: the refinement cost more than they do)."""
    schema = {"type": "object", "properties": {"before": value, "a": {"type": "null"}, "after": value},
              "required": ["a"]}
    slots = [seq(p.node, star(WHITESPACE)) for p in SchemaCompiler(schema).layout()
             if isinstance(p, Slot) and p.pointer.endswith(("/before", "/after"))]
    assert len(slots) == 2 and all(dfa_module._optional_literal_head(s, True, dfa_module.MAX_STATES) for s in slots)
    composed = [compile_dfa(s) for s in slots]
    monkeypatch.setattr(dfa_module, "_optional_literal_head", lambda node, counters, max_states: None)
    dfa_module.clear_caches()
    try:
        whole = [compile_dfa(s) for s in slots]
        assert all(_isomorphic(dfa_module.minimize(a), b) for a, b in zip(composed, whole))
        assert all(b.n_states <= a.n_states <= b.n_states + 2 for a, b in zip(composed, whole))
    finally:
        dfa_module.clear_caches()


def test_an_optional_part_the_tail_may_begin_with_is_determinised_whole():
    node = seq(repeat(seq(lit("ab"), lit("c")), 0, 1), repeat(lit("a"), 0, None))
    assert dfa_module._optional_literal_head(node, True, dfa_module.MAX_STATES) is None
    dfa = compile_dfa(node)
    assert all(dfa.matches(t) for t in (b"", b"abc", b"abcaa", b"aaa")) and not dfa.matches(b"abca" + b"b")


def test_long_chains_are_minimised_too():
    """Moore refinement tells two states apart one byte further from the end per round: a
    72-byte chain needs 72 rounds, and the budget is rounds times states, not a fixed count."""
    tail = "a" * 70 + "b"
    dfa = compile_dfa(alt(lit("a" + tail), lit("c" + tail)))       # after "a" or "c": the same chain
    assert dfa.n_states == len(tail) + 2
    assert dfa.matches(("c" + tail).encode()) and not dfa.matches(tail.encode())


def test_a_refused_build_is_raised_anew_without_its_frames(monkeypatch):
    """Once the collector runs again, the failed build's frames (its sets of NFA states,
    millions on real schemas) must be gone, or it scans them all."""
    monkeypatch.setattr(dfa_module, "MAX_STATES", 5)
    dfa_module.clear_caches()
    try:
        with pytest.raises(SchemaTooComplexError, match="exceeds 5 states") as info:
            compile_dfa(lit("abcdefgh"))
    finally:
        dfa_module.clear_caches()
    assert "_explore" not in [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert gc.isenabled()
