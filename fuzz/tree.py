"""A workspace's sources as a dict of relative path -> text, and the change
operations every edit is made of.

Edits are plain JSON lists of changes so that a regression file can replay
them, and so that the shrinker can replay any subsequence from the initial
tree: a change that no longer applies (its text is gone) makes its whole
edit a no-op instead of an error.
"""

from __future__ import annotations

from pathlib import Path

from thinwatch.engine.irtext import substitute

Tree = dict[str, str]

# One change: {"path", "old", "new"} replaces the first `old` (an empty `old`
# appends), {"path", "create"} writes a new file, {"path", "delete"} removes
# one (keeping its text so the change can be inverted), {"rename": [a, b]}
# renames IR symbol @a to @b in every module. The undoing of an insertion
# keeps the insertion it undoes ("undoes"): that is its inverse.
Change = dict


def read_tree(root: Path, suffixes: tuple[str, ...]) -> Tree:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in suffixes and not {".thinwatch", "target"} & set(p.relative_to(root).parts)}


def apply_changes(tree: Tree, changes: list[Change]) -> Tree | None:
    """The tree after all of `changes`, or None when one does not apply."""
    out = dict(tree)
    for c in changes:
        if "rename" in c:
            a, b = c["rename"]
            out = {p: substitute(t, {a: b}) for p, t in out.items()}
        elif "create" in c:
            if c["path"] in out:
                return None
            out[c["path"]] = c["create"]
        elif "delete" in c:
            if out.get(c["path"]) != c["delete"]:
                return None
            del out[c["path"]]
        else:
            text = out.get(c["path"])
            if text is None or c["old"] not in text:
                return None
            out[c["path"]] = text + c["new"] if not c["old"] else text.replace(c["old"], c["new"], 1)
    return out


def invert(changes: list[Change]) -> list[Change]:
    """The changes that undo `changes` (applied in reverse order)."""
    out = []
    for c in reversed(changes):
        if "undoes" in c:
            # The removed text alone would be appended at the end of the
            # file: a redone insertion in `main` landed outside any function.
            out.append(c["undoes"])
        elif "rename" in c:
            out.append({"rename": c["rename"][::-1]})
        elif "create" in c:
            out.append({"path": c["path"], "delete": c["create"]})
        elif "delete" in c:
            out.append({"path": c["path"], "create": c["delete"]})
        elif c["new"].startswith(c["old"]):
            # an insertion after an anchor: undo it wherever the anchor moved
            out.append({"path": c["path"], "old": c["new"][len(c["old"]):], "new": "", "undoes": c})
        elif c["new"].endswith(c["old"]):
            out.append({"path": c["path"], "old": c["new"][:len(c["new"]) - len(c["old"])], "new": "", "undoes": c})
        else:
            out.append({"path": c["path"], "old": c["new"], "new": c["old"]})
    return out


def write_tree(root: Path, before: Tree, after: Tree) -> None:
    """Make the files under `root` go from `before` to `after`, touching only
    what differs (as an editor saving would)."""
    for path in before.keys() - after.keys():
        (root / path).unlink()
    for path, text in after.items():
        if before.get(path) != text:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
