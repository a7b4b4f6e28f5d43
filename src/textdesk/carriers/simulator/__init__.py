"""The local carrier simulator: speaks Twilio's protocol so the whole path runs offline."""

from textdesk.carriers.simulator.app import Simulator, create_simulator

__all__ = ["Simulator", "create_simulator"]
