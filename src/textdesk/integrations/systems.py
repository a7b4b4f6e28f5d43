"""The practice systems textdesk connects to: one entry each, naming its adapter module.

Adding a system is one module implementing `base.PracticeSystem` and one entry here: what
its connection takes (sealed at rest), how to open it, and what staff read when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textdesk.integrations.base import ErrorKind, PracticeSystem
from textdesk.integrations.fhir.client import FhirClient
from textdesk.integrations.opendental.client import OpenDentalClient

OPEN_DENTAL = "opendental"
FHIR = "fhir"
# Where each secret is kept, sealed (system_connections columns).
SECRET_COLUMNS = {"developer_key": "developer_key_sealed",
                  "customer_key": "customer_key_sealed", "token": "token_sealed"}


@dataclass(frozen=True)
class System:
    label: str
    secrets: tuple[str, ...]  # what PUT /api/v1/integrations/{system} takes, sealed at rest
    required: frozenset[str]
    example_url: str
    open: Callable[[str, dict[str, str], str], PracticeSystem]  # (base URL, secrets, zone)
    fixes: dict[ErrorKind, str]
    behind_fix: str


def _open_dental(base_url: str, secrets: dict[str, str], timezone: str) -> PracticeSystem:
    return OpenDentalClient(base_url, secrets["developer_key"], secrets["customer_key"],
                            timezone=timezone)


def _fhir(base_url: str, secrets: dict[str, str], _timezone: str) -> PracticeSystem:
    return FhirClient(base_url, secrets.get("token", ""))


SYSTEMS: dict[str, System] = {
    OPEN_DENTAL: System(
        "Open Dental", ("developer_key", "customer_key"),
        frozenset({"developer_key", "customer_key"}), "https://api.opendental.com/api/v1",
        _open_dental, {
            ErrorKind.BAD_KEY: "Open Dental refused the keys. Check the customer key in Open "
                               "Dental (Setup > Advanced Setup > API) and the developer key "
                               "from Open Dental's API program, then enter them again.",
            ErrorKind.UNREACHABLE: "The office's Open Dental could not be reached. Make sure "
                                   "the office's eConnector service is running and online "
                                   "(Open Dental: eServices > eConnector Service); textdesk "
                                   "retries by itself.",
            ErrorKind.SERVER_ERROR: "Open Dental answered with an error; textdesk retries by "
                                    "itself. If it lasts, restart the office's eConnector "
                                    "service.",
            ErrorKind.REJECTED: "Open Dental refused a request: check the API permissions "
                                "granted to the customer key.",
        },
        "Texts, confirmations or opt-outs are waiting to be written to Open Dental; they go "
        "by themselves once it answers. Check the office's eConnector service."),
    FHIR: System(
        "FHIR server", ("token",), frozenset(), "https://fhir.example.org/r4", _fhir, {
            ErrorKind.BAD_KEY: "The FHIR server refused the token. Ask its administrator for "
                               "a token that may read Patient and Appointment and create "
                               "Communication, then enter it again.",
            ErrorKind.UNREACHABLE: "The FHIR server could not be reached. Check its address "
                                   "(the base URL ends before /Patient) and that it is "
                                   "online; textdesk retries by itself.",
            ErrorKind.SERVER_ERROR: "The FHIR server answered with an error; textdesk retries "
                                    "by itself. If it lasts, ask its administrator.",
            ErrorKind.REJECTED: "The FHIR server refused a request: check that the token may "
                                "create Communication and update Appointment.",
        },
        "Texts are waiting to be written to the FHIR server as Communication; they go by "
        "themselves once it answers."),
}
