"""The lineage questions and the readers that answer them.

- ``types``: the questions (LineageQuery, ImpactQuery) and answers, plain frozen data.
- ``port``: LineageReader, the few primitives a backend provides (nodes, expand, reach).
- ``projection``: the rules turning MLMD rows into lineage nodes and edges, shared by the
  MLMD reader and the Neo4j sync, so both graphs agree by construction.
- ``traverse``, ``impact``, ``paths``: the walks (lineage, impact, shortest path), written
  once over the port.
- ``diff``: what differs upstream of two models.
- ``mlmd_rows`` / ``mlmd_reader``: the embedded reader, batched over MLMD's events.
- ``service``: LineageService, the face the CLI and the API use.

Decisions: lineage walks the data-flow edges (INPUT, OUTPUT, USES_IMAGE, SNAPSHOT_OF,
CACHED_FROM) by default; PART_OF, VERSION_OF and PARENT_DAG describe where a task sits,
and are walked only when a query lists them in ``edge_kinds``. Impact reaches runs
through their tasks' PART_OF edges; diff reads the producing run, its state and its
pipeline version through PART_OF and VERSION_OF.
"""
