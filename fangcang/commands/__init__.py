"""Command groups of ``python -m fangcang`` (see ``fangcang.cli.COMMANDS``)."""
