"""``MCPGW_DP_ALLOW_STDIO``: off unless set; a value that is not a yes or no is refused."""

from __future__ import annotations

import pytest

from data_plane.settings import DataPlaneSettings


@pytest.mark.parametrize(
    ("value", "allowed"),
    [(None, False), ("", False), ("false", False), ("0", False), ("true", True), ("YES", True), ("1", True)],
)
def test_allow_stdio_is_read_from_the_environment(value: str | None, allowed: bool) -> None:
    env = {} if value is None else {"MCPGW_DP_ALLOW_STDIO": value}
    assert DataPlaneSettings.from_env(env).allow_stdio is allowed


def test_an_unclear_allow_stdio_value_is_refused() -> None:
    with pytest.raises(ValueError, match="MCPGW_DP_ALLOW_STDIO"):
        DataPlaneSettings.from_env({"MCPGW_DP_ALLOW_STDIO": "maybe"})
