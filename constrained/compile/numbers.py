"""JSON numbers within bounds, as regular expressions over their decimal text.

Exact for integer and decimal bounds (inclusive or exclusive). Numbers are written
without exponents: ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?``, a subset of JSON numbers that is
still every value in range.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ..automaton.regex import EMPTY, EPSILON, Node, alt, byte_range, intersect, lit, optional, repeat, seq, star

DIGIT = byte_range(0x30, 0x39)
NONZERO = byte_range(0x31, 0x39)
FRACTION = seq(lit("."), repeat(DIGIT, 1, None))
NATURAL = alt(lit("0"), seq(NONZERO, star(DIGIT)))


def _digits_between(lo: int, hi: int) -> Node:
    return byte_range(0x30 + lo, 0x30 + hi) if lo <= hi else EMPTY


def _nat_at_least(a: int) -> Node:
    """Naturals ≥ a, written without leading zeros."""
    s = str(a)
    n = len(s)
    longer = seq(NONZERO, repeat(DIGIT, n, None))
    same = [lit(s)]
    for k in range(n):
        same.append(seq(lit(s[:k]), _digits_between(int(s[k]) + 1, 9), repeat(DIGIT, n - k - 1, n - k - 1)))
    return alt(longer, *same)


def _nat_at_most(b: int) -> Node:
    """Naturals ≤ b (b ≥ 0), written without leading zeros."""
    if b < 0:
        return EMPTY
    s = str(b)
    n = len(s)
    shorter = [lit("0")] if n > 1 else []
    if n > 2:
        shorter.append(seq(NONZERO, repeat(DIGIT, 0, n - 2)))
    elif n == 2:
        shorter.append(NONZERO)
    same = [lit(s)]
    for k in range(n):
        low = 1 if (k == 0 and n > 1) else 0
        same.append(seq(lit(s[:k]), _digits_between(low, int(s[k]) - 1), repeat(DIGIT, n - k - 1, n - k - 1)))
    return alt(*shorter, *same)


def _split(b: Decimal) -> tuple[int, str]:
    """Integer part and fraction digits (no trailing zeros) of a non-negative decimal."""
    text = format(b, "f")
    whole, _, frac = text.partition(".")
    return int(whole), frac.rstrip("0")


def _frac_at_least(f: str, strict: bool) -> Node:
    """Fraction suffixes ('' or '.ddd') whose value is ≥ (or >) 0.f."""
    if not f:
        return seq(lit("."), star(DIGIT), NONZERO, star(DIGIT)) if strict else optional(FRACTION)
    options = [seq(lit("." + f[:k]), _digits_between(int(f[k]) + 1, 9), star(DIGIT)) for k in range(len(f))]
    tail = seq(star(DIGIT), NONZERO, star(DIGIT)) if strict else star(DIGIT)
    options.append(seq(lit("." + f), tail))
    return alt(*options)


def _frac_at_most(f: str, strict: bool) -> Node:
    """Fraction suffixes whose value is ≤ (or <) 0.f."""
    if not f:
        return EMPTY if strict else alt(EPSILON, seq(lit("."), repeat(lit("0"), 1, None)))
    options = [EPSILON]
    for k in range(len(f)):
        if int(f[k]) > 0:
            options.append(seq(lit("." + f[:k]), _digits_between(0, int(f[k]) - 1), star(DIGIT)))
        if k > 0:
            options.append(lit("." + f[:k]))
    if not strict:
        options.append(seq(lit("." + f), star(lit("0"))))
    return alt(*options)


def _nonneg_at_least(b: Decimal, strict: bool, integer: bool) -> Node:
    whole, frac = _split(b)
    if integer:
        bound = whole + 1 if (strict or frac) else whole
        return _nat_at_least(bound)
    return alt(seq(_nat_at_least(whole + 1), optional(FRACTION)), seq(lit(str(whole)), _frac_at_least(frac, strict)))


def _nonneg_at_most(b: Decimal, strict: bool, integer: bool) -> Node:
    whole, frac = _split(b)
    if integer:
        return _nat_at_most(whole - 1 if (strict and not frac) else whole)
    below = seq(_nat_at_most(whole - 1), optional(FRACTION)) if whole > 0 else EMPTY
    return alt(below, seq(lit(str(whole)), _frac_at_most(frac, strict)))


def _nonneg(lo: Decimal | None, lo_strict: bool, hi: Decimal | None, hi_strict: bool, integer: bool) -> Node:
    """Non-negative numbers x with lo ≤ x ≤ hi (lo, hi ≥ 0 or None)."""
    any_value = NATURAL if integer else seq(NATURAL, optional(FRACTION))
    parts = [any_value]
    if lo is not None:
        parts.append(_nonneg_at_least(lo, lo_strict, integer))
    if hi is not None:
        parts.append(_nonneg_at_most(hi, hi_strict, integer))
    return intersect(*parts)


def bounds(schema: dict) -> tuple:
    """(minimum, maximum, minimum exclusive, maximum exclusive) of a number schema, read from
    every draft's spelling (draft 4 marks an exclusive bound with a boolean flag)."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    lo_x, hi_x = False, False
    ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_lo, bool):
        lo_x = ex_lo
    elif ex_lo is not None and (lo is None or ex_lo >= lo):
        lo, lo_x = ex_lo, True
    if isinstance(ex_hi, bool):
        hi_x = ex_hi
    elif ex_hi is not None and (hi is None or ex_hi <= hi):
        hi, hi_x = ex_hi, True
    return lo, hi, lo_x, hi_x


def _exact(bound) -> Decimal:
    """A bound as the decimal a validator compares with. Integer texts parse to exact ints,
    which Python compares with a float exactly: a float from 2**53 up is an integer, taken
    as such (1e23 is 99999999999999991611392). Smaller floats keep their shortest text,
    which no integer and no text of at most 15 digits falls between (see FLOAT_SAFE)."""
    if isinstance(bound, float) and abs(bound) >= 2 ** 53:
        return Decimal(bound)
    return Decimal(str(bound))


def number_regex(minimum=None, maximum=None, exclusive_minimum=False, exclusive_maximum=False,
                 integer: bool = False) -> Node:
    """Decimal text of every number (integer if asked) in the given range."""
    lo = None if minimum is None else _exact(minimum)
    hi = None if maximum is None else _exact(maximum)
    zero = Decimal(0)
    parts: list[Node] = []
    # x ≥ 0 part
    if hi is None or hi > zero or (hi == zero and not exclusive_maximum):
        if lo is None or lo < zero:
            parts.append(_nonneg(None, False, hi, exclusive_maximum, integer))
        else:
            parts.append(_nonneg(lo, exclusive_minimum, hi, exclusive_maximum, integer))
    # x < 0 part, written as "-" y with y > 0
    if lo is None or lo < zero:
        y_lo, y_lo_strict = (zero, True) if (hi is None or hi >= zero) else (-hi, exclusive_maximum)
        y_hi, y_hi_strict = (None, False) if lo is None else (-lo, exclusive_minimum)
        parts.append(seq(lit("-"), _nonneg(y_lo, y_lo_strict, y_hi, y_hi_strict, integer)))
    return alt(*parts)


# Decimal texts a float keeps apart: at most 15 digits when there is a fraction (integers
# parse exactly). Bounds are checked on the decimal text, values are compared as floats, so
# a 17-digit value just inside an exclusive bound must never be emitted.
FLOAT_SAFE = seq(optional(lit("-")), alt(repeat(DIGIT, 1, None),
                                         *(seq(repeat(DIGIT, k, k), lit("."), repeat(DIGIT, 1, 15 - k))
                                           for k in range(1, 15))))


def multiple_regex(k: int, float_step: bool) -> Node | None:
    """Integers divisible by ``k``, for a ``k`` dividing 1000 (None for others): the remainder
    by such a ``k`` shows in a number's last digits. A float step (``multipleOf: 10.0``)
    makes validators divide in floating point, exact only below 2**53: at most 15 digits."""
    n = next((n for n in range(4) if 10 ** n % k == 0), None)
    if n is None:
        return None
    short = [lit(str(m)) for m in range(0, 10 ** n, k)]
    tails = [lit(f"{m:0{n}d}") for m in range(0, 10 ** n, k)] if n else [EPSILON]
    node = seq(optional(lit("-")), alt(*short, seq(NONZERO, star(DIGIT), alt(*tails))))
    return intersect(node, _integers(15)) if float_step else node


def fraction_multiple_regex(step: float) -> Node | None:
    """Integers, for a step near 1/N (``multipleOf: 0.01``), None for other fractions.

    Validators divide in floating point: k / 0.01 must come out exactly k * N. It does when
    the step's float is within 2**-55 of 1/N, relatively (0.01, 0.001, 0.25; not 0.1, off by
    2**-54, where rounding is too close to call), and k * N is below 2**53: 15 digits
    together. Fractions themselves are not written: 0.07 / 0.01 is 7.000000000000001, which
    validators reject.
    """
    n = round(1 / step) if 0 < step < 1 else 0
    if n < 2 or abs(Fraction(step) * n - 1) >= Fraction(1, 2 ** 55):
        return None
    return _integers(15 - len(str(n)))


def multiples_of(step) -> Node | None:
    """Integer texts every validator finds a multiple of ``step`` (None: not supported)."""
    if step == int(step):
        return multiple_regex(int(step), isinstance(step, float))
    return fraction_multiple_regex(step)


def _integers(digits: int) -> Node:
    """Integers of at most ``digits`` digits (the JSON number grammar is applied elsewhere)."""
    return seq(optional(lit("-")), repeat(DIGIT, 1, digits))
