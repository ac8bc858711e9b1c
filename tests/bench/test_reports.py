"""Reports: terminal text, JSON, CSV, and the HTML file checked in real headless Chromium.

The browser test opens the written file over file://, with no network, and checks
that every chart has a size on the page and that its screenshot is not blank (it
holds the chart's own colours, not only the white background).
"""
from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from edgevision.bench import bench_matrix, check_writable, render_html, render_text, to_csv, to_json, write_atomic
from edgevision.bench.svg import STAGE_COLORS, nice_ticks
from edgevision.errors import UserInputError


@pytest.fixture(scope="module")
def report(bundle, tiny):
    return bench_matrix(bundle, config=tiny, threads=1)


def test_text_has_the_stage_table_the_matrix_and_the_context(report):
    text = render_text(report)
    assert "versions: python" in text and "ai-edge-litert" in text
    for stage in ("preprocess", "infer", "decode", "total", "infer only*"):
        assert re.search(rf"^  {re.escape(stage)}\s+\d", text, re.M), stage
    assert "[threads=1; litert" in text and "1 warm-up + 5 timed" in text
    assert "random: 4 seeded uniform-noise" in text and "FPS" in text and "peak RSS" in text
    assert "temperature" in text and "governor" in text
    matrix = text[text.index("target "):]
    assert re.search(r"^rpi5\s+tflite\s+int8\s+.*top1_agreement 0\.95 \(drop 0\.05\)", matrix, re.M)
    assert re.search(r"^rpi4 .*error: ManifestError: expected sha256", matrix, re.M)
    assert "skipped coral-usb (edgetpu-tflite)" in matrix


def test_json_round_trips_and_can_leave_the_samples_out(report):
    full = json.loads(to_json(report))
    assert full["schema"] == "edgevision.bench/1" and len(full["runs"]) == 4
    assert len(full["runs"][0]["samples_ms"]["infer"]) == 5
    slim = json.loads(to_json(report, samples=False))
    assert "samples_ms" not in slim["runs"][0] and "raw" not in slim["runs"][0]["device_state"]


def test_csv_has_a_row_per_target_and_stage_with_its_context(report):
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    ok = [r for r in rows if r["status"] == "ok"]
    assert {r["stage"] for r in ok} == {"preprocess", "infer", "decode", "total", "infer_only"}
    assert len(ok) == 3 * 5
    assert all(r["threads"] == "1" and r["warmup"] == "1" and r["runs"] == "5" and r["runtime_version"] for r in ok)
    (failed,) = [r for r in rows if r["status"] == "failed"]
    assert failed["label"] == "rpi4" and failed["error"].startswith("ManifestError: expected sha256")


def test_report_files_are_written_whole_and_bad_paths_fail_early(tmp_path):
    target = write_atomic(tmp_path / "r.csv", "a\n")
    assert target.read_text() == "a\n" and [p.name for p in tmp_path.iterdir()] == ["r.csv"]
    (tmp_path / "file.txt").write_text("x")
    for bad, reason in ((tmp_path / "missing" / "r.html", "no such directory"),
                        (tmp_path / "file.txt" / "r.html", "is not a directory"),
                        (tmp_path, "it is a directory")):
        with pytest.raises(UserInputError, match=f"expected a writable path for --report, got .*{reason}"):
            check_writable(bad, "--report")
    assert check_writable(tmp_path / "ok.html", "--report").name == "ok.html"


def test_html_is_one_self_contained_file(report):
    html = render_html(report)
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"https?://|<script|<link|<img|@import|url\(", html)
    assert html.count('<svg class="chart"') >= 2 + 3 * 10  # 2 bar charts; per ok run 5 histograms + 5 timelines
    assert "ManifestError" in html and "skipped" in html


def test_html_renders_its_charts_in_headless_chromium(report, tmp_path):
    pytest.importorskip("playwright")
    cv2 = pytest.importorskip("cv2")
    from _browser import open_page

    path = write_atomic(tmp_path / "bench.html", render_html(report))
    with open_page(path.as_uri(), width=1400, height=1000) as page:
        page.wait_for_selector("svg.chart")
        charts = page.query_selector_all("figure[data-chart]")
        names = [c.get_attribute("data-chart") for c in charts]
        assert {"bars-infer", "bars-total", "hist-infer-0", "time-total-0"} <= set(names)
        for name in ("bars-infer", "hist-infer-0", "time-infer-0", "hist-total-2"):
            chart = charts[names.index(name)]
            box = chart.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 150, (name, box)
            png = cv2.imdecode(np.frombuffer(chart.screenshot(), np.uint8), cv2.IMREAD_COLOR)
            assert png is not None and png.shape[0] > 100
            non_white = (png < 235).any(axis=2).mean()
            assert non_white > 0.02, (name, non_white)  # axes, labels, bars or lines: not a blank box
        hist = cv2.imdecode(np.frombuffer(charts[names.index("hist-infer-0")].screenshot(), np.uint8), cv2.IMREAD_COLOR)
        red = np.array(tuple(int(STAGE_COLORS["infer"][i:i + 2], 16) for i in (5, 3, 1)))  # BGR of the infer colour
        assert (np.abs(hist.astype(int) - red).sum(axis=2) < 40).sum() > 50  # the bars themselves were drawn
        assert page.console_errors == []


def test_ticks():  # the progress bar's half of this test moved to tests/cli/test_console.py with the bar
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3, 3) == [3]
