"""Renderers: they only present a report, never gather or judge."""
