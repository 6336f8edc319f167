"""Errors of the generator: each message names the file, workflow, task or type at fault."""

from __future__ import annotations

__all__ = ["CodegenError", "LoadError", "TypeRenderError"]


class CodegenError(Exception):
    """Generation cannot proceed; the message says what to fix (``molexp gen`` exits 2)."""


class LoadError(CodegenError):
    """The workflow module could not be imported or holds no usable workflow."""


class TypeRenderError(CodegenError):
    """A declared type cannot be written into the generated module."""
