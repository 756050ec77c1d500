"""The pipeline's hook protocols live on the interface floor (``connectors.base``), since connectors
implement them; re-exported here for the pipeline's callers."""

from ..base import ChangeHooks, DriftCheck, Journal, RevertScheduler

__all__ = ["ChangeHooks", "DriftCheck", "Journal", "RevertScheduler"]
