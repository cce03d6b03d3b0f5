"""The system of record: the MetadataStore port and its ML Metadata adapter."""

from lineage.store.port import MetadataStore, Page, Stamp, StoreCounts, WriteResult

__all__ = ["MetadataStore", "Page", "Stamp", "StoreCounts", "WriteResult"]
