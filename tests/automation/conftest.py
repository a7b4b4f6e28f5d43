"""The carrier tests' simulator behind a real Twilio client, for texts that must (not) leave."""

from tests.carriers.conftest import carrier, receiver, running_simulator, simulator

__all__ = ["carrier", "receiver", "running_simulator", "simulator"]
