"""``edgevision.validate``: option and manifest values checked for type and range, the key named."""
from __future__ import annotations

import pytest

from edgevision.decode import DECODERS
from edgevision.errors import UserInputError
from edgevision.validate import OPTION_RULES, check_label_count, check_option, input_options


def test_every_registered_default_passes_its_rule():
    for spec in DECODERS.values():
        for name, value in spec.defaults.items():
            assert check_option(name, value, spec.name) == value


@pytest.mark.parametrize("name", sorted(OPTION_RULES))
def test_every_rule_refuses_a_wrong_type(name):
    with pytest.raises(UserInputError, match=f"expected '{name}' of the x decoder to be"):
        check_option(name, object(), "the x decoder")


def test_whole_floats_count_as_integers_and_ranges_hold():
    assert check_option("top_k", 5.0, "d") == 5 and isinstance(check_option("top_k", 5.0, "d"), int)
    for name, bad in (("top_k", 0), ("score_threshold", 1.5), ("iou_threshold", float("nan")), ("max_detections", 10**6),
                      ("score_threshold", True), ("outputs", {"boxes": 0}), ("layout", "HWCN")):
        with pytest.raises(UserInputError, match=f"'{name}'"):
            check_option(name, bad, "d")
    assert check_option("outputs", {"boxes": 0, "classes": 1, "scores": 2, "count": None}, "d")


def test_load_input_options():
    assert input_options({"size": (320, 240), "mean": 127.5, "std": [127.5] * 3}) == {
        "size": (320, 240), "mean": [127.5], "std": [127.5] * 3}
    for kwargs, key in (({"size": 0}, "size"), ({"size": (1, 2, 3)}, "size"), ({"scale": 0}, "scale"),
                        ({"mean": "abc"}, "mean"), ({"pad_value": 300}, "pad_value"), ({"resize": 5}, "resize")):
        with pytest.raises(UserInputError, match=f"'{key}' in the load options"):
            input_options(kwargs)


def test_label_count():
    check_label_count([], 5, "m", UserInputError)  # no labels: class ids stand in
    check_label_count(["a"], None, "m", UserInputError)  # outputs that do not say (SSD)
    with pytest.raises(UserInputError, match="expected 5 labels for the model's 5 classes in m, got 2"):
        check_label_count(["a", "b"], 5, "m", UserInputError)
