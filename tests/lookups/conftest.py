"""The carrier tests' running simulator, for lookups against its Lookup v2 endpoint."""

from tests.carriers.conftest import receiver, running_simulator

__all__ = ["receiver", "running_simulator"]
