"""The failures a migration names: where it could not write, and what it would not copy."""

from __future__ import annotations

from lineage.errors import BadInputError, UnavailableError


class MigrationTargetError(UnavailableError):
    """The target registry or store cannot be reached or refused a write.

    Nothing it holds is trusted: blobs land under temporary names (or open upload
    sessions) until verified, so the next run starts from what is really there.
    """


class TamperedBlobError(BadInputError):
    """Source bytes that do not hash to the digest that names them: never copied."""
