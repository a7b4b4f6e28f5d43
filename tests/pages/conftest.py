"""Fixtures the page tests share with the integration tests: the Open Dental simulator served."""

from tests.integrations.conftest import od  # noqa: F401 - a fixture, offered to these tests
