"""The cyclic garbage collector, paused while a schema compiles.

Compiling allocates millions of small lists, sets and regex nodes that hold no cycles and
are freed by reference counting; the collector's passes over them are wasted work. Beside
a few hundred thousand long-lived objects (caches, imported libraries) a full pass costs
~0.2 s: a large schema met two or three of them (JSONSchemaBench Github_ultra/o62895,
gemma3-262k: 0.44 s of 5.6), and determinisation alone spent 35-40% of its time in them.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Pause the collector (nested pauses leave it as the outermost found it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
