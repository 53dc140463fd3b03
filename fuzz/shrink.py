"""Delta debugging (Zeller's ddmin) over an edit list: the smallest
subsequence, replayed from the initial tree, that still gives a mismatch."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def ddmin(items: Sequence, failing_prefix: Callable[[list], int | None]) -> list:
    """`failing_prefix(seq)` replays `seq` and returns how many of its items
    ran until the first mismatch, or None if there was none; the items after
    that point are dropped for free."""
    items = list(items)
    n = 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        for candidate in chunks + [sum(chunks[:i] + chunks[i + 1:], []) for i in range(len(chunks))]:
            if candidate and (k := failing_prefix(candidate)) is not None:
                n = 2 if len(candidate) <= size else max(n - 1, 2)
                items = candidate[:k]
                break
        else:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
    return items
