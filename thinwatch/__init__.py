"""thinwatch: the `thinwatch` command (`__main__.py`), above its two
packages, `thinwatch.engine` (the build engine, headless) and `thinwatch.tui`
(the terminal UI).

Installed, they are inside this package. In a checkout they are the
repository's top-level `engine/` and `tui/`, beside this directory: this
package then looks for its subpackages there too, so a checkout runs its own
code whatever else is installed (an editable install of another worktree).
"""

from pathlib import Path

_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).parent / "engine").is_dir() and (_checkout / "engine" / "__init__.py").is_file():
    __path__.append(str(_checkout))
