"""CLI commands: maps."""

COMMANDS: dict = {}
