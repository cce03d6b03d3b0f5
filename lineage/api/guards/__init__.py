"""What a request must pass before and while it runs.

- ``auth``: bearer tokens and the principal they name (with its namespaces).
- ``limits``: the request limits, the document cache and the schema extensions enforcing them.
- ``cost``: the cost estimate of a document, checked against the limits.
- ``shape``: fragments, depth and aliases of a document, in one linear pass.
- ``cursors``: sealed (encrypted, principal-bound) paging cursors.
- ``errors``: typed errors with codes, and the HTTP status of each code.
- ``audit``: the audit log, one JSON line per request.
"""
