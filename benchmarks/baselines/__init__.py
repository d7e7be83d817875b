"""Baseline servers: tiny scripts speaking just enough of the collab-widget events."""
