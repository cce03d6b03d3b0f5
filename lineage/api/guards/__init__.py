"""What a request must pass before and while it runs.

- ``auth``: bearer tokens and the principal they name (with its namespaces).
- ``limits``: the request limits, and the cost of a document estimated against them.
- ``guard``: the schema extension holding each document to the limits, with its caches.
- ``shape``: fragments, depth and aliases of a document, in one linear pass.
- ``cursors``: sealed (encrypted, principal-bound) paging cursors.
- ``errors``: typed errors with codes, and the HTTP status of each code.
- ``audit``: the audit log, one JSON line per request.
"""
