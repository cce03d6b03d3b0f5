"""Hermetic rebuilds: plan a model version, migrate what it needs, re-run it and prove it."""
