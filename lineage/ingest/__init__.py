"""Sources: each reads one place KFP leaves lineage and yields plain RunRecords."""
