"""Example pipelines that ship with the package (used by ``lineage demo`` and the tests).

They are pure Python and deterministic: the same inputs give byte-identical
artifacts, so two runs of one pipeline version can be compared digest by digest.
Run one with ``lineage run lineage/examples/training.py:training_pipeline``.
"""
