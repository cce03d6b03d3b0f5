"""Domain services shared by the faces (API and CLI): they read through the query and
store ports and know nothing of GraphQL or HTTP.

- ``catalog``: the store's records as the faces read them: batched reads by id, pages by type.
- ``scope``: namespace scoping: what a principal's namespaces may see, and a reader that
  sees no more.
- ``scoped_impact``: impact pages walked under a scope.
- ``run_state``: a run's state, recorded by KFP or derived from its tasks.
- ``ranking``: models ranked by a metric (a sweep's best model).
"""
