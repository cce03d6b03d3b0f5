"""The ``lineage`` command: thin faces over the services, one module per command group."""
