"""Prediction logs from the request path to Postgres: buffer → publish in batches (or spool) → ingest."""
