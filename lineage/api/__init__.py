"""The GraphQL API: strawberry types (one module per family), the schema, limits,
auth and the FastAPI app factory. A thin face over ``LineageService`` and the store."""
