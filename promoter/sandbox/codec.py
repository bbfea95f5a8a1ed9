"""What the sandbox's outer layer and its routes both need from the wire: JSON answers and
HTTP Basic credentials (one module, so that routes never import the app that mounts them)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(client_id, secret)`` from an HTTP Basic ``Authorization`` header, or None."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def dumps(body: Any) -> bytes:
    """Compact JSON, as the sandbox answers."""
    return json.dumps(body, separators=(",", ":")).encode()
