from __future__ import annotations

from pathlib import Path

import pytest

from data_plane.settings import DataPlaneSettings


def test_defaults_listen_on_loopback_and_dial_the_local_control_plane() -> None:
    settings = DataPlaneSettings.from_env({})
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 8080)
    assert (settings.admin_host, settings.admin_port) == ("127.0.0.1", 8081)
    assert settings.control_plane == "127.0.0.1:50051"
    assert settings.public_base_url == "http://127.0.0.1:8080"


def test_environment_is_read_and_flags_win() -> None:
    env = {
        "MCPGW_DP_LISTEN": "0.0.0.0:9000",
        "MCPGW_DP_GROUP": "eu",
        "MCPGW_DP_VERIFY_KEY": "/keys/cp.pub.jwk",
        "MCPGW_DP_STATE_DIR": "/var/lib/dp",
        "MCPGW_DP_PUBLIC_URL": "https://dp.example.com/",
    }
    settings = DataPlaneSettings.from_env(env, group="us", admin_listen="127.0.0.1:9001")
    assert (settings.listen_host, settings.listen_port, settings.admin_port) == ("0.0.0.0", 9000, 9001)
    assert settings.group == "us"
    assert settings.verify_key_file == Path("/keys/cp.pub.jwk")
    assert settings.last_good_file == Path("/var/lib/dp/last-good.jws")
    assert settings.public_base_url == "https://dp.example.com"


def test_snapshot_file_alone_means_air_gapped() -> None:
    assert DataPlaneSettings.from_env({}, snapshot_file="/s.jws").control_plane is None
    assert (
        DataPlaneSettings.from_env({}, snapshot_file="/s.jws", control_plane="cp:1").control_plane == "cp:1"
    )


def test_bad_listen_address_and_unknown_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        DataPlaneSettings.from_env({"MCPGW_DP_LISTEN": "8080"})
    with pytest.raises(TypeError):
        DataPlaneSettings.from_env({}, colour="blue")


def test_origin_host_and_session_settings_are_read_from_the_environment() -> None:
    env = {
        "MCPGW_DP_ALLOWED_ORIGINS": "https://app.example.org, http://localhost:*",
        "MCPGW_DP_ALLOWED_HOSTS": "mcp.example.com,",
        "MCPGW_DP_SESSION_MAX_AGE": "3600",
    }
    settings = DataPlaneSettings.from_env(env)
    assert settings.allowed_origins == ("https://app.example.org", "http://localhost:*")
    assert settings.allowed_hosts == ("mcp.example.com",)
    assert settings.session_max_age_seconds == 3600.0
    defaults = DataPlaneSettings.from_env({"MCPGW_DP_ALLOWED_ORIGINS": " ", "MCPGW_DP_SESSION_MAX_AGE": "0"})
    assert defaults.allowed_origins is None and defaults.allowed_hosts is None
    assert defaults.session_max_age_seconds is None
    with pytest.raises(ValueError, match="SESSION_MAX_AGE"):
        DataPlaneSettings.from_env({"MCPGW_DP_SESSION_MAX_AGE": "soon"})


def test_the_introspection_concurrency_is_read_from_the_environment_and_checked() -> None:
    assert DataPlaneSettings.from_env({}).introspection_concurrency == 8
    env = {"MCPGW_DP_INTROSPECTION_CONCURRENCY": "3"}
    assert DataPlaneSettings.from_env(env).introspection_concurrency == 3
    for bad in ("0", "many", "-2"):
        with pytest.raises(ValueError, match="INTROSPECTION_CONCURRENCY"):
            DataPlaneSettings.from_env({"MCPGW_DP_INTROSPECTION_CONCURRENCY": bad})
