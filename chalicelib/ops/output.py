"""What the operator CLI prints: readable lines, or with --json exactly one JSON object."""
from __future__ import annotations

import json

import click


class Output:
    """Prints either readable lines or, with --json, exactly one JSON object."""

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def result(self, data: dict, text: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, default=str, sort_keys=True))
        else:
            click.echo(text)

    def progress(self, message: str) -> None:
        if not self.as_json:
            click.echo(message, err=True)
