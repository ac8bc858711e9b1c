"""``csi://N`` against a STAND-IN ``picamera2`` module that follows the picamera2 API.

The stand-in (``FakePicamera2``, injected through ``sys.modules``) implements what
the source uses: ``Picamera2.global_camera_info()``, ``Picamera2(camera_num)``,
``sensor_resolution``, ``create_video_configuration(main=..., controls=..., queue=...)``
(a plain dict, as picamera2 returns; unknown keyword arguments are rejected),
``align_configuration``, ``configure``, ``start``, ``capture_array("main")``,
``stop``, ``close``. Like picamera2's ``"RGB888"``, its arrays are in **B, G, R**
byte order. Real hardware runs the same tests with ``-m hardware`` (see the end).
"""
from __future__ import annotations

import sys
import types
from typing import ClassVar

import numpy as np
import pytest

from edgevision.errors import BackendUnavailableError, SourceError
from edgevision.sources import LiveSource, open_source

SCENE_RGB = (200, 120, 40)  # what the stand-in sensor sees: distinct R, G and B


class FakePicamera2:
    """STAND-IN for ``picamera2.Picamera2`` (see the module docstring)."""

    cameras: ClassVar[list[dict]] = [{"Model": "imx708", "Num": 0}]
    instances: ClassVar[list[FakePicamera2]] = []

    def __init__(self, camera_num: int = 0) -> None:
        if camera_num >= len(self.cameras):
            raise IndexError("list index out of range")  # what picamera2 raises for a missing camera
        self.camera_num = camera_num
        self.sensor_resolution = (4608, 2592)
        self.calls: list[str] = []
        self.config: dict = {}
        self.started = self.closed = False
        FakePicamera2.instances.append(self)

    @staticmethod
    def global_camera_info() -> list[dict]:
        return list(FakePicamera2.cameras)

    def create_video_configuration(self, main=None, lores=None, raw=None, transform=None, colour_space=None,
                                   buffer_count=6, controls=None, display="main", encode="main", queue=True,
                                   sensor=None, use_case="video") -> dict:
        self.calls.append("create_video_configuration")
        main = {"format": "XBGR8888", "size": (1280, 720), **(main or {})}
        return {"use_case": use_case, "main": main, "lores": lores, "buffer_count": buffer_count,
                "controls": dict(controls or {}), "queue": queue}

    def align_configuration(self, config: dict) -> None:
        self.calls.append("align_configuration")
        w, h = config["main"]["size"]
        config["main"]["size"] = (w - w % 32, h)  # the ISP's alignment, as picamera2 does for RGB formats

    def configure(self, config: dict) -> None:
        self.calls.append("configure")
        self.config = config

    def start(self) -> None:
        self.calls.append("start")
        self.started = True

    def capture_array(self, name: str = "main") -> np.ndarray:
        assert self.started and not self.closed and name == "main"
        w, h = self.config["main"]["size"]
        fmt = self.config["main"]["format"]
        assert fmt == "RGB888", fmt
        r, g, b = SCENE_RGB
        out = np.empty((h, w, 3), np.uint8)
        out[...] = (b, g, r)  # RGB888 is B, G, R in memory
        return out

    def stop(self) -> None:
        self.calls.append("stop")
        self.started = False

    def close(self) -> None:
        self.calls.append("close")
        self.closed = True


@pytest.fixture
def picamera2(monkeypatch):
    FakePicamera2.instances = []
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return FakePicamera2


def test_csi_frames_are_rgb_from_the_bgr_bytes_of_rgb888(picamera2):
    with open_source("csi://0", max_frames=3) as source:
        assert isinstance(source, LiveSource) and source.name == "csi://0"
        frames = list(source)
    assert len(frames) == 3
    assert frames[0].image[0, 0].tolist() == list(SCENE_RGB)  # R first: converted from B, G, R
    cam = picamera2.instances[0]
    assert cam.calls == ["create_video_configuration", "align_configuration", "configure", "start", "stop", "close"]


def test_main_stream_is_sized_for_inference(picamera2):
    with open_source("csi://0", max_frames=1) as source:
        (frame,) = list(source)
    cam = picamera2.instances[0]
    assert cam.config["main"] == {"format": "RGB888", "size": (640, 360)}  # 640 wide at the sensor's 16:9
    assert cam.config["queue"] is False  # every capture waits for a fresh frame
    assert frame.image.shape == (360, 640, 3)


def test_requested_size_and_fps(picamera2):
    with open_source("csi://0", size=(500, 300), fps=15, max_frames=1) as source:
        (frame,) = list(source)
    cam = picamera2.instances[0]
    assert cam.config["controls"] == {"FrameRate": 15.0}
    assert cam.config["main"]["size"] == (480, 300)  # aligned by the ISP...
    assert frame.image.shape == (300, 500, 3)  # ...and the frames still come at the size asked for


def test_missing_csi_camera(picamera2):
    with pytest.raises(SourceError, match=r"expected a camera at csi://1, got no such camera \(cameras here: "
                                          r"csi://0 \(imx708\)\)"):
        open_source("csi://1")


def test_picamera2_is_imported_only_for_csi(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # "not installed"
    with open_source("synthetic://32x32@30?pace=0", max_frames=1) as source:
        list(source)  # other sources never touch it
    with pytest.raises(BackendUnavailableError, match=r"expected picamera2 for csi:// cameras .*apt install "
                                                      r"python3-picamera2"):
        open_source("csi://0")


@pytest.mark.hardware
def test_real_csi_camera():
    """On a Raspberry Pi with a camera: ``pytest -m hardware tests/sources/test_csi.py``."""
    with open_source("csi://0", max_frames=5) as source:
        frames = list(source)
    assert len(frames) == 5 and frames[0].image.ndim == 3 and frames[0].image.shape[1] == 640
