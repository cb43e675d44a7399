"""The one reader of JSON-object arguments (`--params-json`, `--benchmark-json`, ...).

A value is inline JSON when it starts with `{`; anything else names a file holding the
JSON. Rules pass long inline objects, which must never be mistaken for (too long) paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shiftlab.errors import UserError


def json_object(text: str, flag: str) -> dict[str, Any]:
    """Parse `text` (inline JSON or a JSON file) as an object; errors name `flag`."""
    source = text
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise UserError(f"{flag}: {text!r} is neither a JSON object nor a JSON file")
        source = path.read_text()
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise UserError(f"{flag} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UserError(f"{flag} must be a JSON object")
    return value
