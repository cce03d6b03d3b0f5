"""A rebuild plan as a document: canonical JSON, named by the digest of its content.

The plan's ``id`` is ``plan:sha256:<hex>`` of the canonical JSON (``lineage.model``'s
``canonical_json``: sorted keys, no spaces, UTF-8) of the plan without its ``id``. Nothing
in a plan depends on when it was made, so planning the same model again gives the same
id, and any change to any field gives another. A plan whose id no longer matches its
content (edited by hand, damaged) is refused wherever it is read.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lineage.errors import BadInputError
from lineage.model import canonical_json, sha256_hex

SCHEMA = "kfp-lineage/rebuild-plan/v1"
ID_PREFIX = "plan:sha256:"


class PlanTamperedError(BadInputError):
    """A plan whose content no longer hashes to its id."""


def plan_id(document: Mapping[str, Any]) -> str:
    """The id a plan's content gives it: its ``id`` field, if any, left out."""
    body = {key: value for key, value in document.items() if key != "id"}
    return ID_PREFIX + sha256_hex(canonical_json(body))


def seal(body: Mapping[str, Any]) -> dict[str, Any]:
    """The plan with its id."""
    document = {key: value for key, value in body.items() if key != "id"}
    document["id"] = plan_id(document)
    return document


def check_sealed(document: Any, where: str) -> dict[str, Any]:
    """The plan, once its schema and id are checked; PlanTamperedError naming ``where``."""
    if not isinstance(document, dict):
        raise BadInputError(f"{where}: a plan is a JSON object, got {type(document).__name__}")
    if "id" not in document and "schema" not in document:
        raise BadInputError(f"{where}: not a rebuild plan (it has no schema and no id)")
    stated = document.get("id")
    actual = plan_id(document)
    if stated != actual:
        raise PlanTamperedError(
            f"{where}: the plan's content does not match its id {stated!r} "
            f"(its content hashes to {actual}): it was changed after it was made"
        )
    if document.get("schema") != SCHEMA:
        raise BadInputError(
            f"{where}: not a rebuild plan of schema {SCHEMA} (schema {document.get('schema')!r})"
        )
    return document


def load_plan(path: Path) -> dict[str, Any]:
    """Read a plan file and check that its content still matches its id."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInputError(f"{path}: no such plan file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read the plan: {exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}: not JSON: {exc}") from exc
    return check_sealed(document, str(path))


def write_plan(path: Path, document: Mapping[str, Any]) -> None:
    """Write the plan's canonical JSON whole or not at all (a temporary file moved in place)."""
    data = canonical_json(dict(document)) + b"\n"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def parse_tolerances(items: Sequence[str]) -> dict[str, float]:
    """``NAME=VALUE`` pairs: how far a rebuilt metric may drift from the original."""
    tolerances: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInputError(f"--tolerance {item!r}: expected NAME=VALUE, e.g. accuracy=1e-9")
        try:
            value = float(text)
        except ValueError as exc:
            raise BadInputError(f"--tolerance {item!r}: {text!r} is not a number") from exc
        if not math.isfinite(value) or value < 0:
            raise BadInputError(f"--tolerance {item!r}: a tolerance is a finite number >= 0")
        if name in tolerances:
            raise BadInputError(f"--tolerance {name!r} is given twice")
        tolerances[name] = value
    return tolerances
