"""The `thinwatch` command (`python -m thinwatch`). It sits above both packages: the engine's command
line (engine/cli.py, headless) runs everything, and the terminal UI is
imported from here, only when a watch (`watch`, `run`, `test --watch`)
wants one, so neither `engine` nor `tui` imports the other's front end."""

from __future__ import annotations

from pathlib import Path

from thinwatch.engine import cli


def terminal_ui(root: Path, jobs: int, on_change: str, **session) -> int:
    """`cli.TerminalUI`: `session` holds the Session's other arguments."""
    from thinwatch.tui.app import run_app       # Textual is loaded for a terminal UI only
    return run_app(root, jobs, on_change, **session)


def main() -> None:
    cli.main(terminal=terminal_ui)


if __name__ == "__main__":
    main()
