"""CLI commands: routing."""

COMMANDS: dict = {}
