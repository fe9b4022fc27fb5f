"""What both planes agree on: snapshot schema, canonical form, signing, sealing, key hashing.

This package imports neither ``control_plane`` nor ``data_plane`` (enforced by import-linter).
"""
