"""``lineage query``: one GraphQL request run in-process, audited as the server audits.

Running the schema without a server must not be a way around the audit log: the
request is written to the same JSON-lines log (``LINEAGE_API__AUDIT_LOG``, else
``$LINEAGE_HOME/audit.jsonl``) with the local OS user as its identity.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from lineage.api.config import ApiSettings
from lineage.api.guards.audit import AuditLog, audit_path
from lineage.api.guards.auth import local_user
from lineage.api.http.execute import Outcome, execute, operation_name
from lineage.api.http.runtime import limits_of, open_shared
from lineage.api.schema import build_schema
from lineage.settings import Settings

CLIENT = "cli"  # the audit line's client, where the server writes the peer address


def run_query(
    settings: Settings,
    api: ApiSettings,
    document: str,
    variables: Mapping[str, Any],
    operation: str | None,
) -> Outcome:
    principal = local_user()
    audit = AuditLog(audit_path(settings, api), api.audit_redact)
    audit.open()  # an unwritable audit log stops the query before it reads anything
    try:
        with open_shared(settings, api) as shared:
            started = time.perf_counter()
            outcome = asyncio.run(
                execute(
                    build_schema(limits_of(api)), shared, principal, document, variables, operation
                )
            )
            elapsed_ms = (time.perf_counter() - started) * 1000
        audit.write(
            principal,
            operation_name(document, operation),
            variables,
            document,
            outcome.codes,
            CLIENT,
            elapsed_ms,
        )
    finally:
        audit.close()  # drains the writer: the line is on disk when the command returns
    return outcome
