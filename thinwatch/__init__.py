"""The `thinwatch` command (`__main__.py`), above both `engine` and `tui`."""
