"""The demo practice (world) and the carrier simulator behind real HTTP, as the messaging
tests use them."""

from tests.messaging.conftest import (  # noqa: F401 - fixtures used by the tests here
    carrier,
    receiver,
    running_simulator,
    simulator,
    world,
)
