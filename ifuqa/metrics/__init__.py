"""Metrics shared by the checks: pure functions, arrays in, :class:`MetricResult` out.

No pytest import here; units are always part of the result."""

from ifuqa.metrics.result import MetricResult, verdict_for

__all__ = ["MetricResult", "verdict_for"]
