"""Reproducible performance figures for the SDK: ``make bench`` (see README.md here)."""
