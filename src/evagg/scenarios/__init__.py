"""Uncertainty engine: scenario sets, generation (seed 002 §2.2, §5.1) and reduction."""

from evagg.scenarios.scenario_set import ScenarioSet

__all__ = ["ScenarioSet"]
