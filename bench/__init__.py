"""The benchmark suite behind ``make bench`` (``python -m bench``).

A tool, not a plane: it may import ``control_plane``, ``data_plane`` and ``shared`` to build
snapshots and drive services, but nothing in the product imports it.
"""
