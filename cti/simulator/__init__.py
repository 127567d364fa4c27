"""The built-in PBX simulator: speaks real AMI on loopback and plays calls, every frame taken from a recording."""

from cti.simulator.pbx import PbxSimulator
from cti.simulator.scenarios import Scenario
from cti.simulator.settings import SimulatorSettings

__all__ = ["PbxSimulator", "Scenario", "SimulatorSettings"]
