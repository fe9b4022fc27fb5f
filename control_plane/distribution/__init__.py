"""Config distribution: the snapshot publisher, the gRPC servers and data-plane status."""

from control_plane.distribution.server import Distribution

__all__ = ["Distribution"]
