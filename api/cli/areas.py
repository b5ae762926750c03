"""CLI commands: areas."""

COMMANDS: dict = {}
