"""Experiments: which version is better, from outcomes clients report (feedback), with evidence."""
