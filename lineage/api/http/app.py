"""The FastAPI app: GraphQL (with GraphiQL) at /graphql, health at /healthz.

``create_app(settings)`` connects nothing: the store and reader open in the app's
lifespan (or are handed in by a test). Routes are thin: authentication, a body
size check, then ``lineage.api.http.execute``; every request leaves one audit line.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.guards.audit import AuditLog, audit_path
from lineage.api.guards.auth import Authenticator, Principal
from lineage.api.guards.errors import HTTP_STATUS, Code, ForbiddenError, error_body
from lineage.api.http.execute import Outcome, execute, operation_name
from lineage.api.http.graphiql import GRAPHIQL_STATIC, graphiql_page, graphiql_static
from lineage.api.http.runtime import limits_of, open_shared
from lineage.api.http.transport import AUDIT_STATE
from lineage.api.schema import LineageSchema, build_schema
from lineage.errors import LineageError
from lineage.settings import Settings

HEALTH_TIMEOUT_S = 5.0
log = logging.getLogger("lineage.api")


@dataclass
class AppState:
    settings: Settings
    api: ApiSettings
    schema: LineageSchema
    authenticator: Authenticator
    audit: AuditLog | None
    shared: Shared | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def create_app(
    settings: Settings,
    api: ApiSettings | None = None,
    shared: Shared | None = None,
    audit: bool = True,
) -> FastAPI:
    """The app. ``shared`` (store, reader) is opened in the lifespan unless given."""
    api = api or ApiSettings()
    state = AppState(
        settings=settings,
        api=api,
        schema=build_schema(limits_of(api)),
        authenticator=Authenticator.from_settings(api),
        audit=AuditLog(audit_path(settings, api), api.audit_redact) if audit else None,
        shared=shared,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with _running(state):
            # The connection layer audits what it refuses into the same log.
            yield {AUDIT_STATE: state.audit}

    app = FastAPI(title="kfp-lineage", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.lineage = state

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return await _health(state)

    async def graphql(request: Request) -> Response:
        return await _graphql(state, request)

    # A plain route: FastAPI's dependency solving would cost more than the GraphQL
    # request it serves, and the endpoint needs nothing but the request.
    app.add_route("/graphql", graphql, methods=["GET", "POST"])
    app.mount(GRAPHIQL_STATIC, graphiql_static(), name="graphiql")
    return app


@asynccontextmanager
async def _running(state: AppState) -> AsyncIterator[None]:
    """What the server holds while it runs: the store and reader, the audit log, Neo4j."""
    async with AsyncExitStack() as stack:
        if state.shared is None:
            opened = open_shared(state.settings, state.api)
            state.shared = await anyio.to_thread.run_sync(opened.__enter__)
            stack.push_async_callback(
                anyio.to_thread.run_sync, lambda: opened.__exit__(None, None, None)
            )
        if state.audit is not None:
            state.audit.open()  # an unwritable audit log stops the server here
            stack.callback(state.audit.close)
        stack.callback(lambda: state.extras["graph"].close() if "graph" in state.extras else None)
        # Everything built at start-up (the schema, the store's protobuf types, the
        # driver) lives as long as the server: out of the collector's reach, a full
        # collection under load scans only what requests made, not the whole heap.
        gc.collect()
        gc.freeze()
        yield


async def _graphql(state: AppState, request: Request) -> Response:
    started = time.perf_counter()
    try:
        return await _graphql_request(state, request)
    except Exception:  # a bug: answered INTERNAL, and audited like any other request
        log.exception("the GraphQL request failed")
        outcome = Outcome(
            error_body(Code.INTERNAL, "internal error; see the server log"),
            [Code.INTERNAL.value],
        )
        return await _respond(state, request, None, outcome, None, started, status=500)


async def _graphql_request(state: AppState, request: Request) -> Response:
    if request.method == "POST":
        return await _graphql_post(state, request)
    params = request.query_params
    if "query" not in params and "text/html" in request.headers.get("accept", ""):
        return graphiql_page()
    try:
        variables = json.loads(params["variables"]) if params.get("variables") else None
    except (ValueError, RecursionError):  # RecursionError: nested past ~1,000 levels
        return await _respond(state, request, None, _bad("variables is not JSON"), None)
    return await _run(state, request, params.get("query"), variables, params.get("operationName"))


async def _graphql_post(state: AppState, request: Request) -> Response:
    api = state.api
    started = time.perf_counter()
    try:
        with anyio.fail_after(api.body_timeout_s):
            body = await _read_body(request, api.max_body_bytes)
    except _BodyTooLargeError as exc:
        outcome = Outcome(error_body(Code.LIMIT_EXCEEDED, str(exc)), [Code.LIMIT_EXCEEDED.value])
        return await _respond(state, request, None, outcome, None, started)
    except TimeoutError:
        # A body that trickles in holds a connection and a task: a deadline for all of it.
        message = f"the request body did not arrive within {api.body_timeout_s:g} s"
        outcome = Outcome(error_body(Code.BAD_REQUEST, message), [Code.BAD_REQUEST.value])
        return await _respond(state, request, None, outcome, None, started, status=408, close=True)
    try:
        payload = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return await _respond(state, request, None, _bad("the body is not JSON"), None)
    if not isinstance(payload, dict):
        return await _respond(
            state, request, None, _bad("the body must be one JSON object (no batches)"), None
        )
    return await _run(
        state,
        request,
        payload.get("query"),
        payload.get("variables"),
        payload.get("operationName"),
    )


class _BodyTooLargeError(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLargeError(f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError(f"the request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _bad(message: str) -> Outcome:
    return Outcome(error_body(Code.BAD_REQUEST, message), [Code.BAD_REQUEST.value])


async def _authenticate(state: AppState, request: Request) -> Principal:
    header = request.headers.get("authorization")
    if state.authenticator.jwt is not None and header:
        # Verifying a JWT may fetch the JWKS: never on the event loop.
        return await anyio.to_thread.run_sync(state.authenticator.authenticate, header)
    return state.authenticator.authenticate(header)


async def _run(
    state: AppState, request: Request, query: Any, variables: Any, operation: Any
) -> Response:
    started = time.perf_counter()
    try:
        principal = await _authenticate(state, request)
    except LineageError as exc:
        code = Code(exc.code) if exc.code in Code.__members__ else Code.UNAUTHENTICATED
        outcome = Outcome(error_body(code, str(exc)), [code.value])
        # A token that is genuine but grants nothing is recorded by its hash and subject.
        identity = exc.identity if isinstance(exc, ForbiddenError) else None
        return await _respond(
            state, request, identity, outcome, (query, variables, operation), started
        )
    assert state.shared is not None, "the app's lifespan did not run"
    outcome = await execute(state.schema, state.shared, principal, query, variables, operation)
    return await _respond(
        state, request, principal, outcome, (query, variables, operation), started
    )


async def _respond(
    state: AppState,
    request: Request,
    principal: Principal | dict[str, Any] | None,
    outcome: Outcome,
    asked: tuple[Any, Any, Any] | None,
    started: float | None = None,
    status: int | None = None,
    close: bool = False,
) -> Response:
    """The answer, after its audit line is in the file (one line per request, always)."""
    query, variables, operation = asked or (None, None, None)
    if state.audit is not None:
        try:
            await state.audit.record(
                principal,
                operation_name(
                    query if isinstance(query, str) else None,
                    operation if isinstance(operation, str) else None,
                ),
                variables if isinstance(variables, dict) else None,
                query if isinstance(query, str) else None,
                outcome.codes,
                request.client.host if request.client else None,
                (time.perf_counter() - started) * 1000 if started else 0.0,
            )
        except Exception:  # the answer still goes out; the failure is the server's to fix
            log.exception("cannot write the audit line")
    if status is None:
        status = 200
        if not isinstance(principal, Principal) and outcome.codes:
            status = HTTP_STATUS.get(Code(outcome.codes[0]), 400)
    headers = {"connection": "close"} if close else None
    return Response(
        encode(outcome.body), status_code=status, media_type="application/json", headers=headers
    )


def encode(body: dict[str, Any]) -> bytes:
    """The answer as JSON: orjson (a 10,000-node answer in ~5 ms, not ~45 ms of the event
    loop's time), the standard encoder for what orjson refuses (an int past 64 bits)."""
    try:
        return orjson.dumps(body, default=str)
    except TypeError:
        # ASCII escapes: a lone surrogate echoed in a message cannot be encoded as UTF-8.
        return json.dumps(body, separators=(",", ":"), default=str).encode()


async def _health(state: AppState) -> JSONResponse:
    shared = state.shared
    checks: dict[str, Any] = {}
    healthy = True
    if shared is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        with anyio.fail_after(HEALTH_TIMEOUT_S):
            await shared.blocking.run(shared.catalog.probe)
        checks["store"] = {"status": "ok", "backend": shared.catalog.backend}
    except Exception as exc:  # any failure is reported as down, never raised
        healthy = False
        checks["store"] = {"status": "down", "error": str(exc).splitlines()[0] if str(exc) else ""}
    if state.settings.neo4j is not None:
        checks["neo4j"] = await _neo4j_health(state)
        healthy = healthy and checks["neo4j"]["status"] == "ok"
    checks["reader"] = shared.reader.backend
    body = {"status": "ok" if healthy else "down", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


async def _neo4j_health(state: AppState) -> dict[str, Any]:
    from lineage.graph.connect import graph_from_settings

    graph = state.extras.get("graph")
    if graph is None:  # a connection of its own: the reader may have fallen back to MLMD
        graph = state.extras["graph"] = graph_from_settings(state.settings)
    try:
        with anyio.fail_after(HEALTH_TIMEOUT_S):
            await anyio.to_thread.run_sync(graph.ping)
    except (LineageError, TimeoutError) as exc:
        return {"status": "down", "error": str(exc) or "timed out"}
    return {"status": "ok", "uri": state.settings.neo4j.uri if state.settings.neo4j else None}


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory`` and worker processes: settings from the environment."""
    return create_app(Settings(), ApiSettings())
