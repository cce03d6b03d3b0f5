"""The HTTP face of the API.

- ``app``: the FastAPI app factory: lifespan, /graphql, /healthz, GraphiQL.
- ``runtime``: opening what the API serves from (store, reader, limits), once.
- ``transport``: the HTTP connection's deadlines, bounds and refusal audit lines.
- ``execute``: running one GraphQL request, the same path for HTTP and ``lineage query``.
- ``graphiql``: GraphiQL's page and assets, served from ``static/graphiql`` in the package.
"""
