"""The reader that walks MLMD itself, through the store's row scanner (lineage.store.rows)."""
