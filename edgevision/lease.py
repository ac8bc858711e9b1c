"""``EngineLease``: a model's engine held by one owner (an overlapped stream's thread) until released.

``Model.lease(owner=...)`` hands one out; while it is held, ``Model.predict`` and a
second lease raise a ``UserInputError`` naming the owner, so two threads never run
one engine at once. The holder runs its own input tensors (``model.new_input()``,
filled by ``model.preprocess``) and decodes the outputs with ``model.decode``.

Example:
    >>> with model.lease(owner="my capture thread") as engine:      # doctest: +SKIP
    ...     tensor = model.new_input()
    ...     transform = model.preprocess(image, tensor)
    ...     result = model.decode(engine.run(tensor), transform)
    >>> model.leased_by is None                                      # doctest: +SKIP
    True
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import UserInputError

Run = Callable[[np.ndarray], "list[np.ndarray]"]


class EngineLease:
    """The engine of one model, for ``owner`` alone until ``release()`` (or the end of its ``with`` block).

    ``run(tensor)`` infers one input tensor of the engine's shape and dtype and returns its
    outputs; with ``fresh_outputs`` False the next ``run`` may overwrite them. Made by
    ``Model.lease``, which ``release`` hands the engine back to.

    Example:
        >>> lease = EngineLease(owner="a test", run=lambda tensor: [tensor * 2], fresh_outputs=True,
        ...                     on_release=lambda lease: None)
        >>> lease.run(np.ones(2))[0].tolist(), lease.released
        ([2.0, 2.0], False)
        >>> lease.release(); lease.released
        True
    """

    run: Run  # the backend's own method while held (no layer of ours per frame), then _run_released

    def __init__(self, *, owner: str, run: Run, fresh_outputs: bool,
                 on_release: Callable[[EngineLease], None]) -> None:
        self.owner = owner
        self.run = run
        self.fresh_outputs = bool(fresh_outputs)
        self.released = False
        self._on_release = on_release

    def _run_released(self, tensor: np.ndarray) -> list[np.ndarray]:
        raise UserInputError(f"expected a held engine lease, got one released by {self.owner}: take a new one "
                             f"with model.lease(owner=...)")

    def release(self) -> None:
        """Hand the engine back to the model; safe to call twice."""
        if not self.released:
            self.released = True
            self.run = self._run_released
            self._on_release(self)

    def __enter__(self) -> EngineLease:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"EngineLease(owner={self.owner!r}, released={self.released})"
