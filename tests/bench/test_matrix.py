"""edgevision/bench/matrix.py: every artifact this machine can run, one row each; a failing row keeps its error."""
from __future__ import annotations

import pytest

from edgevision.bench import bench_matrix, plan_matrix
from edgevision.errors import ManifestError


@pytest.fixture(scope="module")
def auto_report(bundle, tiny):
    return bench_matrix(bundle, config=tiny, threads=1).to_dict()


def test_plan_runs_what_this_machine_can_and_skips_the_rest(bundle):
    _, run, skipped = plan_matrix(bundle)
    assert run == ["cpu", "intel-cpu", "rpi5", "rpi4"]  # CPU targets run on this host's CPU
    assert [s["target"] for s in skipped] == ["coral-usb"]
    assert "libedgetpu" in skipped[0]["reason"] or "Edge TPU" in skipped[0]["reason"]
    assert plan_matrix(bundle, ["rpi5", "cpu", "rpi5"])[1] == ["rpi5", "cpu"]
    with pytest.raises(ManifestError, match="expected targets among cpu, intel-cpu, rpi5, rpi4, coral-usb in the "
                                            "bundle, got 'rpi9'"):
        plan_matrix(bundle, ["rpi9"])


def test_each_row_has_its_manifest_facts_and_figures(auto_report):
    rows = {r["label"]: r for r in auto_report["runs"]}
    assert list(rows) == ["cpu", "intel-cpu", "rpi5", "rpi4"]
    for label in ("cpu", "intel-cpu", "rpi5"):
        r = rows[label]
        assert r["status"] == "ok", r.get("error")
        assert r["model"]["target"] == label and r["model"]["size_bytes"] > 0
        assert {"median", "p95"} <= set(r["stages"]["infer"]) and r["fps"]["from_mean_total"] > 0
    assert rows["intel-cpu"]["runtime"]["backend"] == "openvino" and rows["intel-cpu"]["model"]["format"] == "openvino-ir"
    assert rows["rpi5"]["model"]["precision"] == "int8"
    assert rows["rpi5"]["model"]["fidelity"]["top1_agreement"] == 0.95
    assert rows["rpi5"]["input"]["dtype"] == "uint8"


def test_a_failing_row_shows_its_error_and_the_others_still_ran(auto_report):
    broken = auto_report["runs"][-1]
    assert broken["label"] == "rpi4" and broken["status"] == "failed"
    assert broken["error"]["type"] == "ManifestError" and "expected sha256" in broken["error"]["message"]
    assert broken["error"]["exit_code"] == 2 and "\n" not in broken["error"]["message"]
    assert [s["target"] for s in auto_report["skipped"]] == ["coral-usb"]


def test_a_target_asked_for_by_name_runs_and_fails_with_the_runtime_error(bundle, tiny):
    report = bench_matrix(bundle, config=tiny, targets=["coral-usb", "cpu"], threads=1).to_dict()
    coral, cpu = report["runs"]
    assert coral["status"] == "failed" and coral["error"]["type"] == "BackendUnavailableError"
    assert "libedgetpu" in coral["error"]["message"] and coral["error"]["exit_code"] == 3
    assert cpu["status"] == "ok" and report["skipped"] == []


def test_a_bundle_with_nothing_runnable_is_one_error(bundle, tmp_path, tiny):
    import json
    import shutil

    only_tpu = shutil.copytree(bundle, tmp_path / "tpu")
    data = json.loads((only_tpu / "manifest.json").read_text())
    data["artifacts"] = {"coral-usb": data["artifacts"]["coral-usb"]}
    (only_tpu / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="expected an artifact this machine can run in the bundle, got none"):
        bench_matrix(only_tpu, config=tiny)
