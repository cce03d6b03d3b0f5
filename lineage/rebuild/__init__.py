"""The hermetic rebuild engine: plan a model's rebuild, score its hermeticity.

- ``document``: the plan as a content-addressed JSON document (its id, loading, writing).
- ``upstream``: from a model to the run, or chain of runs, that made it.
- ``runs``: one run's part of the plan: its spec, parameters, runner and tasks in
  topological order, each with its image, inputs and expected outputs.
- ``spec_facts``: what a pipeline spec says of each executor (commands that install
  packages, the non-deterministic marker, the tasks each task waits for).
- ``gaps``: what keeps a plan from being hermetic, each with its reason.
- ``planner``: the plan, assembled from the above.
- ``environments`` and ``scorecard``: where a plan's images and inputs are present,
  and ``lineage rebuild check``'s scorecard.
- ``migrate_images``, ``migrate_data`` (with ``migrate_local``, ``migrate_errors``,
  ``progress``): copying images between registries and inputs between stores, verified
  and resumable.
- ``execute`` (with ``preflight``, ``stage``, ``rewrite``, ``runners``, ``compare``):
  ``lineage rebuild run``: check a plan, migrate what it needs into an environment,
  rewrite its spec to the copies there, run it, and compare every output with the plan.
- ``verdict``, ``record`` and ``rebuilds``: what a rebuild concluded, its record in the
  lineage (a ``lineage.Rebuild`` execution, projected as a Rebuild node and REBUILT_FROM
  edges), and the recorded rebuilds read back (``lineage rebuild ls|verify``).
"""
