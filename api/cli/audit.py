"""CLI commands: audit."""

COMMANDS: dict = {}
