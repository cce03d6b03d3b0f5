"""The GraphQL API: a thin face over ``LineageService`` and the services in ``lineage.services``.

- ``schema``: the Query root, composed from the type families; ``sdl()`` for the export.
- ``export``: the schema export to graphql/schema.graphql and its drift check.
- ``context``: the per-request context (principal, scoped service, DataLoaders) and ``Shared``.
- ``fastpath``: the execution context that builds long lists of flat objects directly.
- ``types/``: the strawberry types, one module per family, and their resolvers.
- ``guards/``: what a request must pass: auth, limits and cost, document shape, cursors,
  typed errors, the audit log.
- ``http/``: the FastAPI app, its start-up and transport, the request path shared with
  ``lineage query``, GraphiQL and its static build.
- ``local``: ``lineage query``, one request run in-process; ``config``: the API's settings.
"""
