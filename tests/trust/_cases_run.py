"""Corpus cases: images, videos, source URIs, command-line options and Python API arguments."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from _cases_models import RED, frames, run
from _corpus import Case
from _forge import cut, fifo, png_header_only, random_file, write_image, write_video


def image_cases(kit, w: Path) -> list[Case]:
    model, cases = kit.colour_onnx, []
    w.mkdir(parents=True, exist_ok=True)
    random_file(w / "noise.png")
    (w / "empty.jpg").write_bytes(b"")
    cut(kit.green, w / "half.jpg", 0.4)
    png_header_only(w / "bomb.png", 100000, 100000)
    png_header_only(w / "wide.png", 20000, 10)
    (w / "none").mkdir()
    (w / "none" / "notes.txt").write_text("no images here")
    cases += [
        Case("image/undecodable", run(model, w / "noise.png"), error=r"expected an image OpenCV can decode"),
        Case("image/empty-file", run(model, w / "empty.jpg"), error=r"expected an image OpenCV can decode"),
        Case("image/truncated-jpeg", run(model, w / "half.jpg"), error=r"expected an image OpenCV can decode"),
        Case("image/png-declares-100000x100000", run(model, w / "bomb.png"), error=r"(megapixels|decode)"),
        Case("image/png-declares-20000-wide", run(model, w / "wide.png"), error=r"(megapixels|16384|decode)"),
        Case("image/directory-without-images", run(model, w / "none"), error=r"expected images .* in directory"),
        Case("image/glob-matching-nothing", run(model, str(w / "*.webp")), error=r"expected images matching the glob"),
        Case("image/fifo", run(model, fifo(w / "pipe.jpg")), error=r"not a regular file", timeout=30),
        Case("image/directory-ok", run(model, kit.images), check=frames(3)),
        Case("image/red-ok", run(model, kit.red), check=frames(1, RED)),
        Case("image/one-pixel", run(model, write_image(w / "one.png", np.full((1, 1, 3), 200, np.uint8))),
             check=frames(1)),
        Case("image/grey", run(model, write_image(w / "grey.png", np.full((40, 40), 90, np.uint8))), check=frames(1)),
        Case("image/png-named-jpg", run(model, _renamed(write_image(w / "png.png", np.zeros((8, 8, 3), np.uint8)),
                                                        "png.jpg")), check=frames(1)),
        Case("image/rgba", run(model, _rgba(w / "rgba.png")), check=frames(1)),
        Case("image/16-bit", run(model, _sixteen(w / "deep.png")), check=frames(1)),
    ]
    return cases


def _renamed(path: Path, name: str) -> Path:
    return path.rename(path.with_name(name))


def _rgba(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), np.full((20, 20, 4), 120, np.uint8))
    return path


def _sixteen(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), np.full((20, 20, 3), 40000, np.uint16))
    return path


def video_cases(kit, w: Path) -> list[Case]:
    model, cases = kit.colour_onnx, []
    w.mkdir(parents=True, exist_ok=True)
    mkv = write_video(w / "clip.mkv", fourcc="mp4v")
    mp4 = write_video(w / "clip.mp4", fourcc="mp4v")
    out = w / "out"
    out.mkdir()
    cases += [
        Case("video/ok", run(model, kit.clip), check=frames(60, RED)),
        Case("video/truncated-avi", run(model, cut(kit.clip, w / "cut.avi")),
             error=r"expected 60 frames in 'cut.avi' .* truncated"),
        Case("video/truncated-mkv", run(model, cut(mkv, w / "cut.mkv")), error=r"expected 60 frames .* truncated"),
        Case("video/truncated-mp4", run(model, cut(mp4, w / "cut.mp4")), error=r"expected a video OpenCV can decode"),
        Case("video/truncated-with-output", run(model, w / "cut.avi", "--output", out / "annotated.mp4"),
             error=r"truncated", absent=[out / "annotated.mp4", out / ".annotated.partial.mp4"]),
        Case("video/random-bytes", run(model, random_file(w / "noise.mp4")), error=r"expected a video OpenCV can decode"),
        Case("video/empty", run(model, random_file(w / "empty.avi", size=0)), error=r"expected a video OpenCV"),
        Case("video/fifo", run(model, fifo(w / "pipe.mp4")), error=r"not a regular file", timeout=30),
        Case("video/loop-max-frames", run(model, kit.clip, "--loop", "--max-frames", "70"), check=frames(70)),
        Case("video/ok-to-annotated-video", run(model, kit.clip, "--output", out / "ok.mp4", "--quiet"),
             check=lambda o, e: None if (out / "ok.mp4").stat().st_size > 0 else "no video written"),
    ]
    return cases


def uri_cases(kit, w: Path) -> list[Case]:
    model = kit.colour_onnx
    w.mkdir(parents=True, exist_ok=True)
    bad = {
        "ftp": ("ftp://example.com/x.mp4", r"unknown scheme 'ftp://'"),
        "synthetic-100000": ("synthetic://100000x100000@30", r"at most 16384 pixels a side"),
        "synthetic-0x0": ("synthetic://0x0@30", r"at least 16x16"),
        "synthetic-0-fps": ("synthetic://64x64@0", r"positive FPS"),
        "synthetic-negative-seed": ("synthetic://64x64@30?seed=-1", r"seed >= 0"),
        "synthetic-unknown-option": ("synthetic://64x64@30?foo=1", r"unknown synthetic:// option 'foo'"),
        "synthetic-10-digit-size": ("synthetic://9999999999x64@30", r"expected synthetic://WxH@FPS"),
        "synthetic-huge-seed-digits": ("synthetic://64x64@30?seed=" + "9" * 5000, r"integer synthetic:// options"),
        "synthetic-1000000-shapes": ("synthetic://64x64@30?shapes=1000000", r"at most 1000 shapes"),
        "video-node-missing": ("/dev/video99", r"expected a camera at /dev/video99"),
        "usb-not-a-number": ("usb://abc", r"camera number"),
        "usb-missing": ("usb://77", r"expected a camera at usb://77"),
        "v4l2-not-a-camera": ("v4l2:///etc/hostname", r"camera"),
        "rtsp-closed-port": ("rtsp://admin:secret@127.0.0.1:9/stream", r"expected a video stream at rtsp://admin:\*\*\*@"),
        "http-closed-port": ("http://127.0.0.1:9/video.mjpg", r"expected a video stream"),
        "csi-without-picamera2": ("csi://0", r"(picamera2|camera)"),
        "gst-without-gstreamer": ("gst://videotestsrc ! appsink", r"GStreamer"),
        "file-uri-missing": ("file:///no/such/file.mp4", r"missing path"),
        "empty": ("", r"expected"),
        "text-file": (str(_text(w / "notes.txt")), r"expected a video .* or an image"),
    }
    cases = [Case(f"uri/{name}", run(model, uri, "--timeout", "1"), error=error) for name, (uri, error) in bad.items()]
    cases.append(Case("uri/rtsp-password-never-printed", run(model, "rtsp://admin:secret@127.0.0.1:9/s", "--timeout", "1"),
                      error=r"stream", check=lambda o, e: "the password was printed" if "secret" in o + e else None))
    cases.append(Case("uri/synthetic-ok", run(model, "synthetic://64x48@30?seed=2&pace=0", "--max-frames", "5"),
                      check=frames(5)))
    cases.append(Case("uri/file-uri-ok", run(model, f"file://{kit.red}"), check=frames(1, RED)))
    return cases


def _text(path: Path) -> Path:
    path.write_text("hello")
    return path


def option_cases(kit, w: Path) -> list[Case]:
    red, onnx, cases = kit.red, kit.colour_onnx, []
    w.mkdir(parents=True, exist_ok=True)
    (w / "a_file").write_text("x")
    deep = w / "deep.toml"
    deep.write_text("x = " + "[" * 100000 + "]" * 100000 + "\n")
    big = w / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    typo = w / "typo.toml"
    typo.write_text((Path(__file__).parents[2] / "targets" / "cpu.toml").read_text().replace("threads = 0",
                                                                                             'threads = "all"'))
    outdir = w / "never_made"
    base = ["run", onnx, "--source", red, "--json"]
    bad = {
        "threads-100000-onnxruntime": ([*base, "--threads", "100000"], r"threads between 1 and \d+ \(the cores"),
        "threads-100000-litert": (["run", kit.cls_tflite, "--source", red, "--threads", "100000"], r"threads between"),
        "threads-100000-openvino": (["run", kit.colour_xml, "--source", red, "--threads", "100000"], r"threads between"),
        "threads-0": ([*base, "--threads", "0"], r"positive integer"),
        "threads-text": ([*base, "--threads", "many"], r"positive integer"),
        "source-size-100000": ([*base, "--source-size", "100000x100000"], r"16384 pixels a side"),
        "bench-frame-size-100000": (["bench", onnx, "--task", "classification", "--frame-size", "100000x100000",
                                     "--runs", "2"], r"16384 pixels a side"),
        "bench-threads-100000": (["bench", onnx, "--task", "classification", "--threads", "100000", "--runs", "2"],
                                 r"threads between"),
        "score-threshold-text": ([*base, "--score-threshold", "abc"], r"invalid float value"),
        "score-threshold-5": ([*base, "--score-threshold", "5"], r"'score_threshold' .* from 0 to 1"),
        "top-k-negative": ([*base, "--top-k", "-1"], r"positive integer"),
        "size-0": ([*base, "--size", "0x0"], r"positive size"),
        "size-100000": ([*base, "--size", "100000x100000"], r"'size' .* from 1 to 8192"),
        "mean-text": ([*base, "--mean", "abc"], r"comma-separated numbers"),
        "std-zero": ([*base, "--std", "0"], r"'std' .* non-zero"),
        "max-frames-0": ([*base, "--max-frames", "0"], r"positive integer"),
        "output-under-a-file": ([*base, "--output", w / "a_file" / "x.mp4"], r"--output"),
        "output-unwritable": ([*base, "--output", "/proc/edgevision/x.mp4"], r"--output"),
        "output-dir-missing-source": (["run", onnx, "--source", w / "nothing.png", "--output", f"{outdir}/"],
                                      r"missing path"),
        "serve-port-99999": ([*base, "--serve", "99999"], r"port 0-65535"),
        "serve-text": ([*base, "--serve", "abc"], r"port 0-65535"),
        "serve-foreign-address": ([*base, "--serve", "192.0.2.1:8080"], r"expected an address to serve on"),
        "target-unknown": ([*base, "--target", "rpi6"], r"expected a target id among"),
        "target-toml-100000-deep": ([*base, "--target", deep], r"nested at most 32 deep"),
        "target-toml-1-mib": ([*base, "--target", big], r"at most 262144 bytes"),
        "target-toml-fifo": ([*base, "--target", fifo(w / "pipe.toml")], r"not a regular file|FIFO"),
        "target-toml-wrong-type": ([*base, "--target", typo], r"expected an integer for 'threads'"),
        "device-unknown": ([*base, "--device", "TPU9"], r"ONNX Runtime device CPU or GPU"),
        "labels-missing": ([*base, "--labels", w / "nope.txt"], r"missing path"),
        "labels-fifo": ([*base, "--labels", fifo(w / "pipe.txt")], r"not a regular file|FIFO"),
        "labels-binary": ([*base, "--labels", random_file(w / "labels.bin", 300)], r"UTF-8 labels file"),
        "inspect-missing": (["inspect", w / "nothing.onnx"], r"missing path"),
        "convert-out-under-a-file": (["convert", onnx, "--target", "jetson-orin:fp32", "--calibration", "4",
                                      "-o", w / "a_file" / "bundle"], r"directory the bundle can be written in"),
        "convert-out-unwritable": (["convert", onnx, "--target", "jetson-orin:fp32", "--calibration", "4",
                                    "-o", "/proc/edgevision/bundle"], r"directory the bundle can be written in"),
        "convert-missing-model": (["convert", w / "none.keras", "--target", "cpu", "-o", w / "b"], r"expected"),
        "unknown-flag": ([*base, "--frobnicate"], r"unrecognized arguments"),
        "publish-not-mqtt": ([*base, "--publish", "ftp://broker/topic"], r"expected --publish mqtt://"),
        "publish-port-99999": ([*base, "--publish", "mqtt://broker:99999/t"], r"a port 1-65535"),
        "publish-no-host": ([*base, "--publish", "mqtt://"], r"with a broker host"),
    }
    for name, (argv, error) in bad.items():
        absent = [outdir] if name == "output-dir-missing-source" else []
        cases.append(Case(f"option/{name}", argv, error=error, absent=absent, timeout=90))
    cases += [
        Case("option/threads-1-ok", [*base, "--threads", "1"], check=frames(1, RED)),
        Case("option/backend-openvino-reads-onnx", [*base, "--backend", "openvino"], check=frames(1, RED)),
        Case("option/top-k-1", [*base, "--top-k", "1"], check=frames(1, RED)),
        Case("option/output-dir-made-at-first-frame", ["run", onnx, "--source", red, "--output", f"{w / 'made'}/",
                                                       "--quiet"],
             check=lambda o, e: None if any((w / "made").iterdir()) else "no image written"),
    ]
    return cases


API = {  # id -> (code, error regex or None for success); {m}, {b}, {t} are the model, the bundle, the tflite
    "load-a-number": ("import edgevision; edgevision.load(5)", r"path to a model file or bundle, got int"),
    "load-threads-100000": ("import edgevision; edgevision.load({m!r}, threads=100000)", r"threads between"),
    "load-threads-text": ("import edgevision; edgevision.load({m!r}, threads='4')", r"threads between 1 and"),
    "load-threads-negative": ("import edgevision; edgevision.load({t!r}, threads=-1)", r"threads between"),
    "load-score-threshold-text": ("import edgevision; edgevision.load({m!r}, score_threshold='abc')",
                                  r"'score_threshold' of the classification decoder"),
    "bundle-score-threshold-text": ("import edgevision; edgevision.load({b!r}, score_threshold='abc')",
                                    r"'score_threshold'"),
    "bundle-unknown-option": ("import edgevision; edgevision.load({b!r}, iou_threshold=0.5)",
                              r"unknown option 'iou_threshold'"),
    "load-top-k-negative": ("import edgevision; edgevision.load({m!r}, top_k=-1)", r"'top_k'"),
    "load-top-k-fraction": ("import edgevision; edgevision.load({m!r}, top_k=2.5)", r"'top_k'"),
    "load-labels-a-number": ("import edgevision; edgevision.load({m!r}, labels=5)", r"labels as a list"),
    "load-mean-text": ("import edgevision; edgevision.load({m!r}, mean='abc')", r"'mean'"),
    "load-std-zero": ("import edgevision; edgevision.load({m!r}, std=[0, 0, 0])", r"'std'"),
    "load-size-100000": ("import edgevision; edgevision.load({m!r}, size=(100000, 100000))", r"'size'"),
    "load-size-text": ("import edgevision; edgevision.load({m!r}, size='big')", r"'size'"),
    "load-resize-unknown": ("import edgevision; edgevision.load({m!r}, resize='fish')", r"resize mode"),
    "load-unknown-keyword": ("import edgevision; edgevision.load({m!r}, colour='RGB')", r"unknown model option"),
    "load-task-unknown": ("import edgevision; edgevision.load({m!r}, task='depth')", r"task among"),
    "load-target-a-number": ("import edgevision; edgevision.load({b!r}, target=5)", r"target"),
    "predict-a-string": ("import edgevision; edgevision.load({m!r}).predict('cat.jpg')", r"expected"),
    "predict-empty-image": ("import edgevision, numpy as np; edgevision.load({m!r}).predict(np.zeros((0, 0, 3), "
                            "np.uint8))", r"expected"),
    "predict-float-image": ("import edgevision, numpy as np; edgevision.load({m!r}).predict(np.zeros((8, 8, 3)))",
                            r"expected"),
    "predict-rgba-is-converted": ("import edgevision, numpy as np\nimg = np.zeros((8, 8, 4), np.uint8); "
                                  "img[..., 2] = 230\nprint('OK', edgevision.load({b!r}).predict(img).names[0])", None),
    "stream-100000": ("import edgevision; next(iter(edgevision.load({m!r}).stream('synthetic://100000x100000@30')))",
                      r"16384 pixels a side"),
    "open-source-size": ("from edgevision.sources import open_source; open_source('synthetic://64x64@30', "
                         "size=(0, 5))", r"positive source size"),
    "write-bundle-unwritable": ("from edgevision.bundle import write_bundle, Manifest, Artifact\n"
                                "from edgevision.decode import decoder_config\n"
                                "m = Manifest(task='classification', decoder=decoder_config('classification'), "
                                "artifacts={{'cpu': Artifact(file='m.onnx', format='onnx', precision='fp32')}})\n"
                                "write_bundle('/proc/edgevision/b', m, {{'m.onnx': {m!r}}})",
                                r"bundle can be written in"),
    "write-bundle-escaping-name": ("from edgevision.bundle import write_bundle, Manifest, Artifact\n"
                                   "from edgevision.decode import decoder_config\n"
                                   "m = Manifest(task='classification', decoder=decoder_config('classification'), "
                                   "artifacts={{'cpu': Artifact(file='m.onnx', format='onnx', precision='fp32')}})\n"
                                   "write_bundle('b', m, {{'../m.onnx': {m!r}}})", r"plain file name"),
    "decoder-config-text": ("from edgevision.decode import decoder_config; decoder_config('yolo', "
                            "{{'iou_threshold': 'x'}})", r"'iou_threshold' of the yolo decoder"),
    "load-labels-mismatch-allowed": ("import edgevision; m = edgevision.load({m!r}, labels=['a'], check_labels=False)"
                                     "\nprint('OK', len(m.labels))", None),
    "load-bundle-ok": ("import edgevision, numpy as np\nimg = np.zeros((48, 64, 3), np.uint8); img[..., 2] = 230\n"
                       "print('OK', edgevision.load({b!r}).predict(img).names[0])", None),
}


def api_cases(kit, w: Path) -> list[Case]:
    w.mkdir(parents=True, exist_ok=True)
    paths = {"m": str(kit.colour_onnx), "b": str(kit.b_onnx), "t": str(kit.cls_tflite)}
    def printed_ok(out: str, err: str) -> str | None:  # the success cases print "OK blue" or "OK 1"
        return None if out.startswith("OK") and ("blue" in out or "1" in out) else f"got {out[:80]!r}"

    return [Case(f"api/{name}", code=code.format(**paths), error=error, check=printed_ok if error is None else None,
                 cwd=w) for name, (code, error) in API.items()]


def sanity(kit) -> None:
    """The kit's own files exist (a broken kit would make every case a wrong error)."""
    for p in (kit.colour_onnx, kit.b_onnx, kit.red, kit.clip):
        assert os.path.exists(p), p
