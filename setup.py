"""Package discovery (the rest of the build configuration is in pyproject.toml).

The top-level folders ``converters/`` and ``targets/`` are installed as
``edgevision.converters`` and ``edgevision.targets``; every package under the three
folders is found here, so a new sub-package needs no list kept by hand.
"""
from setuptools import find_packages, setup

MAPPED = {"converters": "edgevision.converters", "targets": "edgevision.targets"}

packages = find_packages(include=["edgevision", "edgevision.*"])
for folder, name in MAPPED.items():
    packages += [name + found[len(folder):] for found in find_packages(include=[folder, f"{folder}.*"])]

setup(packages=packages, package_dir={"edgevision": "edgevision", **{n: f for f, n in MAPPED.items()}})
