"""A bounded memo, newest last: what the conversion path remembers between the points of a scan.

The front-ends keep one per kind of result (hls4ml's generated config, weight codes); each
returns copies, so a hit gives what a fresh computation would.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class BoundedMemo:
    """Values by key, newest last; the oldest go first once the values' total ``size`` exceeds ``limit``.

    Parameters
    ----------
    limit : int
        The largest total size kept (the newest value is kept even when it alone exceeds it).
    size : callable
        The size of one value (default 1: ``limit`` counts entries).
    """

    def __init__(self, limit: int, size: Callable[[Any], int] = lambda value: 1):
        self.limit = limit
        self.size = size
        self.items: OrderedDict[Hashable, Any] = OrderedDict()
        self.total = 0

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: Hashable) -> Any | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.total -= self.size(old)
        self.items[key] = value
        self.total += self.size(value)
        while len(self.items) > 1 and self.total > self.limit:
            self.total -= self.size(self.items.popitem(last=False)[1])

    def clear(self) -> None:
        self.items.clear()
        self.total = 0
