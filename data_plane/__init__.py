"""The MCP Gateway data plane: a stateless aiohttp proxy enforcing signed config snapshots.

``create_app`` builds the MCP application, ``create_admin_app`` the health application and
``run`` serves both (see :mod:`data_plane.main`).
"""

from data_plane.app import create_admin_app, create_app
from data_plane.main import run
from data_plane.settings import DataPlaneSettings

__all__ = ["DataPlaneSettings", "create_admin_app", "create_app", "run"]
