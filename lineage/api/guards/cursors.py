"""Opaque cursors, sealed for the principal that was handed them.

A cursor says where a list resumes: the store key of the last item shown (or, when
a scan was cut short, of the last record read). Read in the clear that key would
tell a namespace token where hidden records sit, so every cursor is sealed with
AES-GCM (authenticated encryption, from ``cryptography``): the client learns
nothing from it, cannot forge or alter one, and the principal is bound in as
associated data, so a cursor handed to one principal is refused for another.

The key comes from ``LINEAGE_CURSOR_KEY`` (any secret text; the AES key is derived
from it with HKDF). Without it each process draws a random key at start: cursors
then do not survive a restart and are not shared between worker processes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lineage.api.guards.auth import Principal
from lineage.errors import BadInputError

_NONCE = 12
# A cursor this server makes is well under this; anything longer is refused unread.
MAX_CURSOR_CHARS = 512
_INFO = b"kfp-lineage cursor v1"
_BLOCK = 96


def new_key() -> bytes:
    """A random key for this process."""
    return AESGCM.generate_key(bit_length=256)


def key_from_secret(secret: str) -> bytes:
    """The AES key for a configured secret: the same secret gives the same key everywhere."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(secret.encode("utf-8", "surrogatepass"))


def _binding(principal: Principal, kind: str) -> bytes:
    # Who the cursor was made for and which list it pages; neither can be swapped.
    who = json.dumps(principal.as_audit(), sort_keys=True, separators=(",", ":"))
    return f"{kind}\0{who}".encode("utf-8", "surrogatepass")


class Cursors:
    """Seals and opens the cursors of one request's principal."""

    def __init__(self, key: bytes, principal: Principal) -> None:
        self._aead = AESGCM(key)
        self._principal = principal

    def seal(self, kind: str, value: Any) -> str:
        nonce = os.urandom(_NONCE)
        plain = json.dumps(value, separators=(",", ":")).encode()
        # Padded (JSON allows trailing blanks) so a cursor's length says nothing of the
        # key inside: every cursor of a list has the same length.
        plain = plain.ljust(-(-len(plain) // _BLOCK) * _BLOCK)
        sealed = self._aead.encrypt(nonce, plain, _binding(self._principal, kind))
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, kind: str, cursor: str) -> Any:
        """The value sealed in ``cursor``; BadInputError for anything this server did not
        hand this principal for this list (garbled, forged, cut, or another's)."""
        refused = BadInputError(
            f"after: not a cursor of this list handed to this token ({len(cursor)} characters)"
        )
        if not cursor or len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
            raise refused
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            if len(raw) <= _NONCE:
                raise refused
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _binding(self._principal, kind))
            return json.loads(plain)
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise refused from exc

    def open_text(self, kind: str, cursor: str | None) -> str | None:
        """A sealed inner cursor (one the query layer made), or None without one (an empty
        cursor is none)."""
        if not cursor:
            return None
        value = self.open(kind, cursor)
        if not isinstance(value, str):
            raise BadInputError("after: not a cursor of this list handed to this token")
        return value
