"""CLI commands: lookup."""

COMMANDS: dict = {}
