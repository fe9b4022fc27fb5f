"""The environment of a stdio server: the minimal base and what was configured, nothing else."""

from __future__ import annotations

import pytest

from shared.stdio_env import BASE_DEFAULTS, child_environment

PARENT = {
    "PATH": "/usr/bin",
    "HOME": "/home/dp",
    "LANG": "de_DE.UTF-8",
    "MCPGW_MASTER_KEY": "secret",
    "USER": "dp",
}


@pytest.mark.parametrize(
    ("configured", "parent", "expected"),
    [
        ({}, PARENT, {"PATH": "/usr/bin", "HOME": "/home/dp", "LANG": "de_DE.UTF-8"}),
        (
            {"TOKEN": "t"},
            PARENT,
            {"PATH": "/usr/bin", "HOME": "/home/dp", "LANG": "de_DE.UTF-8", "TOKEN": "t"},
        ),
        (
            {"PATH": "/opt/bin", "HOME": "/srv"},
            PARENT,
            {"PATH": "/opt/bin", "HOME": "/srv", "LANG": "de_DE.UTF-8"},
        ),
        ({}, {"MCPGW_DP_GROUP_KEY": "/k"}, BASE_DEFAULTS),
    ],
)
def test_only_path_home_and_lang_come_from_the_launching_process(
    configured: dict[str, str], parent: dict[str, str], expected: dict[str, str]
) -> None:
    assert child_environment(configured, parent=parent) == expected
