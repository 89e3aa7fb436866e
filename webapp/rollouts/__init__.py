"""Canary rollouts: plans with guardrails, moved by a beat task through the split service."""

from . import tables  # noqa: F401  (register the tables with the metadata)
