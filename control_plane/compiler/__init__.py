"""The snapshot compiler: database rows -> one snapshot per data-plane group (pure reads)."""

from control_plane.compiler.snapshot import CompiledSnapshot, CompileError, compile_group, compile_snapshot

__all__ = ["CompileError", "CompiledSnapshot", "compile_group", "compile_snapshot"]
