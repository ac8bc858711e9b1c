"""OpenVINO backend: IR (.xml/.bin), and the ONNX and TFLite files OpenVINO reads directly.

The device string comes from the target (NPU, CPU, GPU, AUTO); compiled
models are cached (``cache_dir``) so an NPU or GPU compiles once, not per run; OpenVINO loads
from that cache what no manifest checks, so it must be a directory only the user can write.

Example:
    >>> b = OpenVINOBackend("model.xml", device="NPU")     # doctest: +SKIP
    >>> b.info()["device"]                                # doctest: +SKIP
    'NPU'
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, ModelError, ModelFileError
from ..integrity import ModelBytes, as_model_bytes, private_copy, private_directory
from ..limits import check_tensor
from .base import Backend, TensorSpec, default_threads


def _openvino() -> Any:
    try:
        import openvino
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            "expected OpenVINO (pip install 'edgevision[openvino]'), got no module named 'openvino'"
        ) from None
    return openvino


def check_ir(path: Path | ModelBytes, data: bytes | None = None) -> None:
    """ModelFileError unless the file starts as an OpenVINO IR: XML whose root is ``<net version="10">`` or later.

    OpenVINO offers an .xml its IR reader does not claim to every other frontend,
    and TensorFlow's then logs parse errors straight to stderr: stop it here.
    ``data``: the file's bytes, already read (else it is read from ``path``).
    """
    import xml.parsers.expat

    root: list = []

    def start(tag: str, attrs: dict) -> None:
        root.append((tag, attrs))
        raise StopIteration  # the root element is all we need

    name = Path(path).name
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        view = memoryview(data if data is not None else Path(path).read_bytes())
        for at in range(0, len(view), 1 << 16):
            if root:
                break
            parser.Parse(view[at:at + (1 << 16)].tobytes(), False)
        if not root:
            parser.Parse(b"", True)
    except StopIteration:
        pass
    except xml.parsers.expat.ExpatError as e:
        raise ModelFileError(f"expected an OpenVINO IR .xml, got {name} that is not XML ({e})") from None
    tag, attrs = root[0] if root else ("", {})
    version = str(attrs.get("version", ""))
    if tag != "net" or not version.isdigit() or int(version) < 10:  # OpenVINO reads IR v10 and later
        got = f"root element <{tag}>" if tag != "net" else f"<net version={version!r}>"
        raise ModelFileError(f"expected an OpenVINO IR .xml (root element <net> with IR version 10 or later), "
                             f"got {got} in {name}")


def read_model(core: Any, model: ModelBytes, owner: object) -> Any:
    """The ``openvino.Model`` of checked bytes: an IR from its XML and weights in memory, ONNX/TFLite from theirs.

    A TFLite model, and an ONNX model with external data, are read from a private copy of the
    checked files (OpenVINO reads those only from a path), removed when ``owner`` is.
    """
    suffix = model.path.suffix.lower()
    if suffix == ".xml":
        check_ir(model.path, model.data)
    if suffix == ".tflite":  # OpenVINO parses the flatbuffer natively: verify it first
        from ..formats.tflite import read_tflite

        read_tflite(model.data, name=model.name)
    try:
        if model.external or suffix == ".tflite":  # read only from a path: a private copy of the checked bytes
            return core.read_model(str(private_copy(model, owner)))
        return core.read_model(model.data, model.weights if model.weights is not None else b"")
    except RuntimeError as e:
        raise ModelFileError(f"expected a model OpenVINO can read, got {model.name}: {error_line(e)}") from None


def error_line(e: Exception) -> str:
    """The line of an OpenVINO exception that says what went wrong (not the 'Exception from file:line' ones)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("Exception from ", "Check '"))]
    return (useful or lines or [type(e).__name__])[-1]


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "edgevision" / "openvino"


class OpenVINOBackend(Backend):
    name = "openvino"
    suffixes = (".xml", ".onnx", ".tflite")
    reads_bytes = True  # read_model(xml, weights) from the checked bytes
    runtime_errors = (RuntimeError,)

    def __init__(
        self,
        path: str | Path | ModelBytes,
        *,
        threads: int | None = None,
        device: str | None = None,
        cache_dir: str | Path | None = None,
        input_size: tuple[int, int] | None = None,
        precision_hint: str | None = None,
    ) -> None:
        ov = _openvino()
        source = self.model_bytes = as_model_bytes(path)
        self.path = source.path
        self.requested_device = (device or "CPU").upper()
        core = ov.Core()
        if self.requested_device.split(":")[0] not in ("CPU",) or cache_dir:
            cache = private_directory(cache_dir or default_cache_dir(), "compiled-model cache")
            core.set_property({"CACHE_DIR": str(cache)})
        model = read_model(core, source, self)
        if len(model.inputs) != 1:
            raise ModelError(f"expected a model with one image input, got {len(model.inputs)} inputs")
        try:
            self._fix_dynamic(model, input_size)
        except RuntimeError as e:
            raise ModelFileError(f"expected a model OpenVINO can reshape to a static input, got {self.path.name}: "
                                 f"{error_line(e)}") from None
        try:
            for i, port in enumerate([*model.inputs, *model.outputs]):
                shape = port.get_partial_shape()
                if shape.rank.is_static:
                    check_tensor(port.get_any_name() if port.get_names() else f"#{i}",
                                 [d.get_length() if d.is_static else -1 for d in shape], image_input=i == 0,
                                 where=self.path.name)
        except UnicodeDecodeError as e:  # OpenVINO hands tensor names to Python as UTF-8
            raise ModelFileError(f"expected tensor names in UTF-8, got {self.path.name} with bytes that are not "
                                 f"({e.reason} at {e.start})") from None
        self.threads = int(threads) if threads else (default_threads() if self.requested_device == "CPU" else None)
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if self.requested_device == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.threads
            # On CPUs with bf16 units OpenVINO would otherwise run an fp32 IR in bf16: keep the
            # precision the artifact was converted for (fp16/int8 IRs carry their own).
            config["INFERENCE_PRECISION_HINT"] = precision_hint or "f32"
        try:
            self._compiled = core.compile_model(model, self.requested_device, config)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            if self.requested_device == "CPU":  # always there: the model is what the CPU plugin refused
                raise ModelFileError(f"expected a model OpenVINO can compile for the CPU, got {self.path.name}: "
                                     f"{error_line(e)}") from None
            raise BackendUnavailableError(
                f"expected OpenVINO device {self.requested_device} (available: "
                f"{', '.join(core.available_devices)}) to compile {self.path.name}, got: {first}"
            ) from None
        try:
            self.device = ",".join(self._compiled.get_property("EXECUTION_DEVICES"))
        except RuntimeError:
            self.device = self.requested_device
        self.inputs = [self._spec(p) for p in self._compiled.inputs]
        self.outputs = [self._spec(p) for p in self._compiled.outputs]
        self._request = self._compiled.create_infer_request()
        self._buffer = np.zeros(self.inputs[0].shape, self.inputs[0].dtype)
        # Share the buffer with the request: preprocessing writes straight into the input tensor.
        self._request.set_input_tensor(ov.Tensor(self._buffer, shared_memory=True))
        self._n_out = len(self.outputs)
        self._version = ov.get_version()

    @staticmethod
    def _fix_dynamic(model: Any, input_size: tuple[int, int] | None) -> None:
        import openvino as ov

        port = model.inputs[0]
        shape = port.get_partial_shape()
        if shape.is_static:
            return
        dims = [d.get_length() if d.is_static else -1 for d in shape]
        static = [1 if d < 0 else d for d in dims]
        if len(dims) == 4 and any(d < 0 for d in dims[1:]):
            if not input_size:
                raise ModelFileError(f"expected a static input shape, got the dynamic input {dims}: pass the size to run "
                                     f"it at, --size WxH (size=(w, h) in Python)")
            w, h = input_size
            if dims[-1] in (1, 3):
                static[1], static[2] = h, w
            else:
                static[2], static[3] = h, w
        model.reshape({port.get_any_name(): ov.PartialShape(static)})

    @staticmethod
    def _spec(port: Any) -> TensorSpec:
        names = port.get_names()
        name = sorted(names)[0] if names else ""
        shape = tuple(d.get_length() if d.is_static else -1 for d in port.get_partial_shape())
        return TensorSpec(name, shape, np.dtype(port.get_element_type().to_dtype()), None)

    def input_buffer(self) -> np.ndarray:
        return self._buffer

    def infer(self) -> list[np.ndarray]:
        request = self._request
        request.infer()
        return [request.get_output_tensor(i).data for i in range(self._n_out)]

    def info(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "runtime": "openvino",
            "version": self._version,
            "device": self.device,
            "requested_device": self.requested_device,
            "threads": self.threads,
        }
