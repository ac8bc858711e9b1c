"""``convert``: one source model in, one bundle out, with an artifact per target and its fidelity measured.

Everything is built in a temporary directory beside the destination; the
bundle is renamed into place only when every artifact is built, loaded through
the runtime and within ``max_drop`` of the source. A failure leaves nothing.

Example:
    >>> bundle = convert("model.keras", ["rpi5", "coral-usb", "intel-npu", "jetson-orin"],
    ...                  out="bundle/", calibration="images/")          # doctest: +SKIP
    >>> bundle.rows[0]["target"], bundle.load("rpi5")                   # doctest: +SKIP
    ('rpi5', Model(task='classification', ...))
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bundle import Manifest, sha256_file, write_bundle
from ..errors import ConversionError, UserInputError
from ..model import Model
from ..targets import Target
from ..targets.catalogue import ArtifactFormat, Precision
from .session import ArtifactReport, Session
from .source import source_kind

# Why a source kind cannot reach a format, where the reason is not obvious.
NO_ROUTE: dict[tuple[str, ArtifactFormat], str] = {}


@dataclass
class ConvertResult:
    """What ``convert`` wrote: the bundle's path, its manifest, one report per target, and the warnings."""

    path: Path
    manifest: Manifest
    artifacts: list[ArtifactReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The reports as plain data (``convert --json``'s ``rows``)."""
        return [a.to_dict() for a in self.artifacts]

    def load(self, target: str = "auto", **kwargs: Any) -> Model:
        """``edgevision.load`` on this bundle."""
        from ..loading import load

        return load(self.path, target=target, **kwargs)


class FidelityError(ConversionError):
    """An artifact dropped more than ``--max-drop``: no bundle written; ``reports`` has every row's figures."""

    def __init__(self, message: str, reports: Sequence[ArtifactReport]) -> None:
        super().__init__(message)
        self.reports = list(reports)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reports]


def plan(targets: Sequence[str], precision: str | None) -> list[tuple[Target, str]]:
    """(target profile, precision) per target; unknown targets and precisions a target refuses fail here.

    A target may carry its own precision: ``"jetson-orin:int8"`` overrides ``precision`` for it.
    """
    from edgevision.targets import load_target

    if not targets:
        raise UserInputError("expected at least one --target, got none")
    precisions = {p.value for p in Precision}
    out: list[tuple[Target, str]] = []
    for t in dict.fromkeys(targets):
        name, _, suffix = t.rpartition(":")
        per_target = suffix if name and suffix in precisions else None  # "jetson-orin:int8"
        profile = load_target(name if per_target else t)
        allowed = [p.value for p in profile.artifact.precisions]
        want = per_target or precision or profile.artifact.precision.value
        if want not in allowed:
            raise UserInputError(f"expected a precision {profile.id} takes ({', '.join(allowed)}), got {want!r}")
        twice = [p for prof, p in out if prof.id == profile.id]
        if twice:
            # The manifest holds one artifact per target id (what target="auto" and --target pick by).
            raise UserInputError(f"expected each target once in a bundle, got {profile.id} twice ({twice[0]} and "
                                 f"{want}): a bundle holds one artifact per target; convert into two bundles "
                                 f"(-o {profile.id}-{twice[0]}/ and -o {profile.id}-{want}/) to compare them")
        out.append((profile, want))
    return out


def check_routes(kind: str, jobs: list[tuple[Target, str]]) -> None:
    """ConversionError when a target's converter cannot read this kind of source."""
    from . import get_converter

    for profile, _ in jobs:
        fmt = profile.artifact.format
        converter = get_converter(fmt)
        if kind not in converter.sources:
            reason = NO_ROUTE.get((kind, fmt), f"the {fmt} converter reads {', '.join(converter.sources)}")
            raise ConversionError(f"expected a source the {profile.id} target's converter reads, got a {kind} "
                                  f"model: {reason}")


def convert(model: str | Path, targets: Sequence[str], *, out: str | Path,
            calibration: str | Path | int | None = None, validation: str | Path | None = None,
            precision: str | None = None, input_shape: Sequence[int] | None = None,
            model_info: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
            max_drop: float | None = None, io_dtype: str = "uint8", samples: int = 300, mixed_precision: bool = True,
            overwrite: bool = False, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> ConvertResult:
    """Convert ``model`` for every target into the bundle ``out``.

    ``calibration``: a directory of images, a ``.npy`` of preprocessed tensors, or a
    number of synthetic samples. ``validation``: held-out images for fidelity
    (default: every fifth calibration image, kept out of calibration). Raises
    ``FidelityError`` (nothing written) when an artifact drops more than ``max_drop``.
    ``mixed_precision``: an int8 artifact that misses its task's gate keeps its worst layers in float where the
    format allows (``edgevision.converters.gate``); False keeps every int8 artifact full-integer.
    """
    model, dest = Path(model), Path(out)
    jobs = plan(targets, precision)  # typed errors before any heavy work
    check_routes(source_kind(model), jobs)
    if max_drop is not None and not 0 <= max_drop <= 1:
        raise UserInputError(f"expected --max-drop between 0 and 1, got {max_drop}")
    if dest.exists() and not overwrite:
        raise UserInputError(f"expected a new bundle path, got existing {str(dest)!r} (pass --overwrite)")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(prefix=f".{dest.name}.", suffix=".convert", dir=dest.parent)
    except OSError as e:  # -o under a file, or in a directory this user cannot write
        raise UserInputError(f"expected a directory the bundle can be written in, got {str(dest.parent)!r} "
                             f"({e.strerror or e})") from None
    with work as tmp:
        session = Session.open(model, Path(tmp), calibration=calibration, validation=validation,
                               input_shape=input_shape, model_info=model_info, overrides=overrides,
                               samples=samples, io_dtype=io_dtype, log=log,
                               need_calibration=any(p == Precision.INT8.value for _, p in jobs))
        session.mixed_precision = mixed_precision
        artifacts, files, reports = {}, {}, []
        for profile, prec in jobs:
            report, artifact, shipped = session.build(profile, prec)
            artifacts[profile.id] = artifact
            files.update(shipped)
            reports.append(report)
        manifest = Manifest(task=session.info.task, decoder=session.info.decoder, labels=session.info.labels,
                            input=session.info.input, artifacts=artifacts, name=model.stem,
                            source={"file": model.name, "sha256": _source_digest(model),
                                    "format": session.source.kind,
                                    **({"metadata": session.info.metadata} if session.info.metadata else {})})
        over = [r for r in reports if max_drop is not None and r.drop > max_drop]
        if over:
            worst = max(over, key=lambda r: r.drop)
            raise FidelityError(
                f"expected every artifact within --max-drop {max_drop} of the source, got {worst.target} "
                f"{worst.precision} dropping {worst.drop:.4f} ({worst.fidelity['drop_metric']}); "
                f"{len(over)} of {len(reports)} over the bound, no bundle written", reports)
        write_bundle(dest, manifest, files, overwrite=overwrite)
    return ConvertResult(dest, manifest, reports, session.warnings)


def _source_digest(path: Path) -> str:
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()  # a SavedModel directory: every file, in a stable order
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()
