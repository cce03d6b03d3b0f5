"""``lineage run``: a pipeline run with kfp.local, recorded as the KFP backend would.

- ``load``: ``FILE.py:PIPELINE`` loaded, compiled, its ``--arg`` values typed by the spec.
- ``walk``: kfp.local run one task at a time, each task watched.
- ``output``: kfp.local's output passed on, its tail kept as a task's error.
- ``digest``: the content digest of an artifact the run wrote or imported.
- ``facts``: what the run did, as plain frozen facts.
- ``record``: those facts as the RunRecord KFP's backend would write.
- ``snapshots``: ``--snapshot-inputs``, each input's data snapshotted before its task.
- ``run``: the source itself: run the pipeline, then record it.
"""
