"""Benchmark overlay on waterbill.settings: the same app, plus a bare view to measure the framework's ceiling."""

from waterbill.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
