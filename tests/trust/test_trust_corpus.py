"""The trust corpus: every input a careless user or an attacker gives ends in a typed one-line error or a
correct success, never a traceback, a crash, a hang, a silently wrong result or a file left behind.

The cases (``_cases_*.py``, ``_serve_abuse.py``) are built in the session from the kit's
real models (``conftest.py``) and run as real processes (``_corpus.py``). The test prints

    N cases: typed T, traceback 0, crash 0, hang 0, wrong-success 0, leftover 0

and fails, listing every bad case, unless all but ``typed`` and correct successes are zero.
"""
from __future__ import annotations

import os

import pytest
from _cases_files import manifest_cases, zip_cases
from _cases_models import bundle_cases, model_cases
from _cases_run import api_cases, image_cases, option_cases, sanity, uri_cases, video_cases
from _corpus import BAD, run_cases, summary
from _serve_abuse import run_abuse

FAMILIES = (model_cases, bundle_cases, manifest_cases, zip_cases, image_cases, video_cases, uri_cases,
            option_cases, api_cases)


@pytest.mark.slow
def test_every_case_is_a_typed_error_or_a_correct_success(kit, tmp_path, capsys):
    sanity(kit)
    cases = [case for family in FAMILIES for case in family(kit, tmp_path / family.__name__)]
    outcomes = run_cases(cases, tmp_path / "runs", workers=max(2, min(4, (os.cpu_count() or 2) + 1)))
    outcomes += run_abuse(kit.b_onnx, tmp_path / "serve")
    text = summary(outcomes)
    bad = [o.line() for o in outcomes if o.kind in BAD]
    with capsys.disabled():
        print("\n" + text)
    assert len(outcomes) >= 150
    families = {o.case.family for o in outcomes}
    assert families >= {"model", "bundle", "manifest", "zip", "image", "video", "uri", "option", "api", "serve"}
    assert not bad, text + "\n" + "\n".join(bad)
