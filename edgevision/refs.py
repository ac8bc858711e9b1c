"""References to code that is imported only when used: ``"module:attribute"`` strings, or the object itself.

The registries (formats, backends, converters, tasks) name heavy or workstation-only
code this way, so that reading a registry imports nothing heavy.

Example:
    >>> resolve("json:dumps")([1])
    '[1]'
    >>> resolve(len) is len
    True
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Ref = str | type | Callable[..., Any]  # an object, or "module:attribute" naming one


def resolve(ref: Ref) -> Any:
    """The object ``ref`` names (its module imported now when given as ``"module:attribute"``)."""
    if not isinstance(ref, str):
        return ref
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)
