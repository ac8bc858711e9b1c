"""One hierarchy of typed errors for every user-facing failure.

Each message says what was expected and what came instead, in one line, so the
CLI can print ``error: <message>`` and exit non-zero without a traceback.

Example:
    >>> try:
    ...     raise ModelFileError("expected a .tflite, .xml, .onnx file or a bundle directory, got 'x.txt'")
    ... except EdgeVisionError as e:
    ...     print(e.exit_code)
    2
"""
from __future__ import annotations


class EdgeVisionError(Exception):
    """Base of every error edgevision raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Keep the message on one line: the CLI prints it as-is.
        super().__init__(" ".join(str(message).split()))


class UserInputError(EdgeVisionError):
    """The user gave something we cannot use (a path, a flag, a file)."""

    exit_code = 2


class ModelFileError(UserInputError):
    """A model file is missing, unreadable, truncated or not the format it claims."""


class ManifestError(UserInputError):
    """A bundle manifest is malformed, has unknown keys, or an artifact fails its sha256."""


class ImageError(UserInputError):
    """An image or video cannot be decoded."""


class SourceError(UserInputError):
    """A frame source (file, directory, camera, stream) cannot be opened or read."""


class TargetError(UserInputError):
    """An unknown target id or an invalid target profile."""


class ModelError(UserInputError):
    """The model does not fit what was asked of it (input not an image, outputs not the task's)."""


class BackendUnavailableError(EdgeVisionError):
    """The runtime a model needs is not installed, or a delegate library is missing."""

    exit_code = 3


class ConversionError(EdgeVisionError):
    """The converter stage failed or an artifact missed its fidelity bound."""

    exit_code = 4


class RemoteError(EdgeVisionError):
    """A remote device could not be reached, refused its host key or login, or failed what it was asked to run."""

    exit_code = 5
