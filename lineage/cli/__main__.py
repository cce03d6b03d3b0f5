"""``python -m lineage.cli``: the same entry point as the ``lineage`` script."""

from lineage.cli.main import main

main()
