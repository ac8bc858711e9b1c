"""``Model``: a loaded artifact with its preprocessing and decoder, run frame by frame or as a stream.

``edgevision.load`` (``edgevision.loading``) builds one from a bundle or a bare model file.

Example:
    >>> import edgevision, numpy as np
    >>> model = edgevision.load("bundle/")                        # doctest: +SKIP
    >>> result = model.predict(np.zeros((480, 640, 3), np.uint8))  # doctest: +SKIP
    >>> model.info()["backend"]["backend"]                         # doctest: +SKIP
    'litert'
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .backends import Backend
from .decode import make_decoder
from .errors import ModelError, UserInputError
from .hooks import Callback, FrameTimings, Hooks
from .lease import EngineLease
from .offsets import float_specs, with_offsets
from .preprocess import InputFormat, Preprocessor
from .results import Result
from .transform import Transform
from .validate import runtime_failure

# What moved to edgevision.loading stays importable from here (PEP 562); new code imports it from there.
_LOADING = frozenset({"INPUT_OPTIONS", "bundle_overrides", "load", "metadata_defaults", "model_info_keys",
                      "read_labels", "runtime_options", "split_model_info"})


def __getattr__(name: str) -> Any:
    if name not in _LOADING:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import loading  # on first use: loading builds on Model, defined here

    return getattr(loading, name)


class StageTimes(NamedTuple):
    """Seconds spent in each stage of one ``Model.step`` (``model.timings``: of the last ``predict``)."""

    preprocess: float
    infer: float
    decode: float


class Model:
    """A loaded artifact with its preprocessing and decoder: ``model.predict(rgb_uint8_image) -> Result``.

    ``predict`` is ``step`` plus the hooks; ``preprocess``, ``new_input``, ``lease`` and
    ``decode`` are the pieces a pipeline that runs the engine in a thread of its own needs.
    """

    def __init__(self, backend: Backend, *, task: str, labels: Sequence[str], input_format: InputFormat,
                 decoder: Mapping[str, Any], artifact: Mapping[str, Any] | None = None) -> None:
        if len(backend.inputs) != 1:
            raise ModelError(f"expected a model with one image input, got {len(backend.inputs)} inputs")
        spec = backend.inputs[0]
        self.backend = backend
        self.task = task
        self.labels = tuple(labels)
        self.input_format = input_format
        self.decoder = dict(decoder)
        self.artifact = dict(artifact or {"file": str(backend.path)})
        self.preprocessor = Preprocessor(input_format, shape=spec.shape, dtype=spec.dtype, quant=spec.quant)
        offsets = backend.output_offsets()  # constants the artifact left out of its outputs: added before decoding
        self._decode = with_offsets(make_decoder(self.decoder, float_specs(backend.outputs, offsets), self.labels),
                                    backend.outputs, offsets)
        self._buffer = backend.input_buffer()
        self._infer = backend.infer
        self._runtime_errors = backend.runtime_errors
        self.timings = StageTimes(0.0, 0.0, 0.0)
        self.hooks = Hooks()
        self._lease: EngineLease | None = None  # who runs the engine now, when not this object

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model input."""
        return self.preprocessor.size

    def predict(self, image: np.ndarray) -> Result:
        """Run one HxWx3 uint8 RGB image; the result is in the image's own pixel coordinates."""
        result, t = self.step(image)
        if self.hooks:
            self.hooks.emit(FrameTimings(0.0, t.preprocess, t.infer, t.decode, t.preprocess + t.infer + t.decode),
                            result)
        return result

    __call__ = predict

    def predict_frame(self, frame: Any, *, capture: float = 0.0) -> Result:
        """Run one ``Frame`` from a source; hooks get ``capture`` (seconds spent getting it) and capture-to-result.

        ``frame.timestamp`` is ``time.monotonic()`` at capture, so ``total`` includes any
        time the frame waited in a queue.
        """
        result, t = self.step(frame.image)
        if self.hooks:
            self.hooks.emit(FrameTimings(capture, t.preprocess, t.infer, t.decode,
                                         time.monotonic() - frame.timestamp), result)
        return result

    def step(self, image: np.ndarray) -> tuple[Result, StageTimes]:
        """Preprocess, infer and decode one HxWx3 uint8 RGB image: (result, seconds per stage); no hooks.

        The stage times are also ``model.timings``. A caller that times more than the
        model (a live loop: capture, queueing) builds its own ``FrameTimings`` from them.

        Example:
            >>> result, times = model.step(image)                      # doctest: +SKIP
            >>> times.infer == model.timings.infer                     # doctest: +SKIP
            True
        """
        if self._lease is not None:
            raise UserInputError(f"expected predict() while no lease holds this model's engine, got it leased to "
                                 f"{self._lease.owner} until that is closed (a with block closes it): close it, "
                                 f"use overlap=False, or load the model a second time")
        clock = time.perf_counter
        t0 = clock()
        transform = self.preprocessor(image, self._buffer)
        t1 = clock()
        try:
            outputs = self._infer()
        except self._runtime_errors as e:  # a model that loads but cannot run: one line naming its file
            raise runtime_failure(self.backend, e) from None
        t2 = clock()
        result = self._decode(outputs, transform)
        times = self.timings = StageTimes(t1 - t0, t2 - t1, clock() - t2)
        return result, times

    def new_input(self) -> np.ndarray:
        """A zeroed input tensor of the engine's shape and dtype that the caller owns (for ``preprocess``).

        Example:
            >>> staging = [model.new_input() for _ in range(3)]         # doctest: +SKIP
        """
        return np.zeros_like(self._buffer)

    def preprocess(self, image: np.ndarray, out: np.ndarray) -> Transform:
        """Preprocess an HxWx3 uint8 RGB image into ``out`` (from ``new_input()``); the ``Transform`` to decode with.

        Example:
            >>> tensor = model.new_input()                              # doctest: +SKIP
            >>> transform = model.preprocess(image, tensor)             # doctest: +SKIP
        """
        return self.preprocessor(image, out)

    def decode(self, outputs: Sequence[np.ndarray], transform: Transform) -> Result:
        """The result of the engine's ``outputs`` for an image preprocessed with ``transform``.

        Example:
            >>> with model.lease(owner="my thread") as engine:          # doctest: +SKIP
            ...     result = model.decode(engine.run(tensor), transform)
        """
        return self._decode(outputs, transform)

    def lease(self, *, owner: str) -> EngineLease:
        """The engine for ``owner`` alone until the lease is released: ``predict`` and a second lease raise till then.

        ``owner`` says who holds it, in the error others get. See ``edgevision.lease``.

        Example:
            >>> with model.lease(owner="the overlapped stream of clip.mp4") as engine:   # doctest: +SKIP
            ...     outputs = engine.run(tensor)
        """
        if self._lease is not None:
            raise UserInputError(f"expected one overlapped stream per model at a time (one lease of its engine), "
                                 f"got a second one ({owner}) while {self._lease.owner} holds it")
        be = self.backend
        self._lease = EngineLease(owner=owner, run=self._run_checked, fresh_outputs=be.fresh_outputs,
                                  on_release=self._lease_released)
        return self._lease

    def _run_checked(self, tensor: np.ndarray) -> list[np.ndarray]:
        try:
            return self.backend.run(tensor)
        except self._runtime_errors as e:
            raise runtime_failure(self.backend, e) from None

    def _lease_released(self, lease: EngineLease) -> None:
        if self._lease is lease:
            self._lease = None

    @property
    def leased_by(self) -> str | None:
        """The owner of the lease on the engine, or None when the model is free to ``predict``.

        Example:
            >>> model.leased_by is None                                 # doctest: +SKIP
            True
        """
        return None if self._lease is None else self._lease.owner

    def on_frame(self, callback: Callback) -> Callback:
        """Register ``callback(timings, result)`` to run after every frame (also works as a decorator)."""
        return self.hooks.add(callback)

    def stream(self, source: Any, *, overlap: bool | str = "auto", track: Any = False, lines: Sequence[Any] = (),
               zones: Sequence[Any] = (), **options: Any) -> Any:
        """Run on every frame of ``source``: ``for result in model.stream("csi://0"): ...``.

        ``source`` is a URI or path (``csi://0``, ``/dev/video0``, ``rtsp://...``,
        ``synthetic://640x480@30``, a video, images) or an open ``Source``; ``options``
        go to ``open_source`` (``size``, ``fps``, ``loop``, ``max_frames``, ``timeout``,
        ``on_event``). Returns an ``edgevision.pipeline.Stream``: it yields one
        ``Result`` per frame, with the frame and its ``FrameTimings`` at ``.frame`` and
        ``.timings``, ``.items()`` for (frame, result, timings), and ``.summary()``.

        An overlapped stream infers the next frames in a thread of its own while this one
        is decoded and written: a frame then costs about the inference alone. The default
        ``overlap="auto"`` overlaps when that pays (``edgevision.overlap.overlap_pays``: the
        engine runs on an accelerator, or leaves a core free), as ``edgevision run`` does;
        ``True``/``False`` force it, and ``stream.overlap`` says which runs. The thread
        leases the engine until the stream is closed, so ``model.predict`` in the loop of
        an overlapped stream raises: pass ``overlap=False``, or load the model twice.

        ``track=True`` tracks the boxes of a detection, instance-segmentation or pose model
        with ByteTrack (``edgevision.track``): each result keeps the detections on confirmed
        tracks, with ``tracker_id``. ``lines`` ([(x1, y1), (x2, y2)] each) and ``zones``
        (polygons) count the tracked objects per class (they imply ``track``);
        ``stream.tracking.counts()`` and ``stream.summary()["counts"]`` say how many.

        Example:
            >>> with model.stream("video.mp4") as stream:            # doctest: +SKIP
            ...     for result in stream:
            ...         print(stream.frame.index, len(result), stream.timings.infer)
        """
        from .pipeline import Stream  # the live loop and its sources load only when a stream is opened

        return Stream(self, source, overlap=overlap, track=track, lines=lines, zones=zones, **options)

    def infer_raw(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run a ready-made input tensor (no preprocessing, no decoding)."""
        return [np.array(o) for o in self._run_checked(tensor)]

    def info(self) -> dict[str, Any]:
        """What this model is and what actually runs it."""
        return {
            "task": self.task,
            "decoder": self.decoder,
            "labels": len(self.labels),
            "artifact": self.artifact,
            "backend": self.backend.info(),
            "input": {**self.backend.inputs[0].to_dict(), "layout": self.preprocessor.layout,
                      **{k: v for k, v in self.input_format.to_dict().items() if k != "layout"}},
            "outputs": [o.to_dict() for o in self.backend.outputs],
        }

    def __repr__(self) -> str:
        b = self.backend.info()
        return (f"Model(task={self.task!r}, artifact={Path(self.artifact['file']).name!r}, backend={b['backend']!r}, "
                f"device={b['device']!r})")
