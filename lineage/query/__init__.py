"""The lineage questions and the readers that answer them, whatever the backend.

- ``types``: the questions (LineageQuery, ImpactQuery) and answers, plain frozen data.
- ``port``: LineageReader, the few primitives a backend provides (nodes, expand, reach);
  ``paging``: the impact page a reader may answer itself.
- ``traverse``, ``impact``, ``paths``: the walks (lineage, impact, shortest path), written
  once over the port; ``asof``: nodes as they stood at a time; ``gcpause``: the walks'
  pause of the cyclic collector.
- ``diff``: what differs upstream of two models.
- ``service``: LineageService, the face the CLI and the API use; ``jsonify``: answers
  as plain JSON values.
- ``readers/``: the adapters (``mlmd``, ``neo4j``) and the automatic choice between them.
  The rules from MLMD rows to lineage nodes live under ``lineage.store`` (``row_rules``),
  shared by the MLMD reader and the Neo4j sync, so both graphs agree by construction.

Decisions: lineage walks the data-flow edges (INPUT, OUTPUT, USES_IMAGE, SNAPSHOT_OF,
CACHED_FROM) by default; PART_OF, VERSION_OF and PARENT_DAG describe where a task sits,
and are walked only when a query lists them in ``edge_kinds``. Impact reaches runs
through their tasks' PART_OF edges; diff reads the producing run, its state and its
pipeline version through PART_OF and VERSION_OF.
"""
