"""Prediction failures: a /predict that fails after routing is counted against the version that failed."""
