"""Errors the command line reports as one clear line (no traceback)."""

from __future__ import annotations


class HisirError(Exception):
    """Base of the errors that name the file or folder at fault."""


class DataError(HisirError):
    """A dataset folder or image that cannot be used."""


class CheckpointError(HisirError):
    """A missing, corrupt or foreign checkpoint."""


class ModelError(HisirError):
    """An ONNX model that cannot be exported, loaded or does not follow the contract."""
