"""The GraphQL types, one module per family, with their resolvers.

- ``nodes``: the LineageNode interface, enums, scalars and helpers every family uses.
- ``runs``: Pipeline, PipelineVersion, Run and the runs listing.
- ``tasks``: Task and Image.
- ``artifacts``: Artifact, Snapshot and the artifacts listing.
- ``recurring``: RecurringRun.
- ``lineage``: lineage answers: LineageGraph, its NodeRef and Edge.
- ``analysis``: impact, diff, path and the model ranking answers.
- ``links``: the links back down the families (an artifact's run, an image's tasks), bound
  when ``runs`` and ``tasks`` load, so no family imports one that imports it.
- ``lookup``: one node by id, with one NOT_FOUND for unknown and hidden ids.
- ``paging``: Relay paging (connections, page info) over the store's keyset pages.
"""
