"""The ``mcpgw`` command: the composition root that starts either plane, or both (``dev``).

This package may import both planes; neither plane nor ``shared`` imports it (import-linter).
"""
