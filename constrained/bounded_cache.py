"""A dict that keeps only its most recently used entries, for caches a long-lived process
(a server, a benchmark over thousands of schemas) would otherwise grow without bound."""
from __future__ import annotations

from collections import OrderedDict


class BoundedCache(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key not in self:
            return default
        self.move_to_end(key)
        return self[key]

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
