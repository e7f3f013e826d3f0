"""Helpers importable from code cells (also as dataiku.doctor.deep_learning.* inside cells)."""
