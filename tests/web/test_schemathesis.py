"""Schemathesis over `/openapi.json` (issue 16): every operation, inputs valid and not, as a
practice (or, under /api/v1/admin, the operator) — no answer is a server error.

CI runs the coverage phase and a few random examples of each operation;
`TEXTDESK_FUZZ_EXAMPLES=50` runs 50 random examples of each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import ADMIN_TOKEN, fresh_database
from tests.fuzzing import examples
from tests.helpers import Practice, make_patient, make_practice
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.web.app import create_app

# The schema as the app describes it (building the app touches no database); the cases are
# sent to the test's own app, on its own database.
schema = schemathesis.openapi.from_dict(create_app(Settings(
    database_url="sqlite://", admin_token=ADMIN_TOKEN)).openapi())
# Every phase: the schema's examples, the coverage phase (each boundary value the schema
# implies, valid and not) and random cases, as many as `examples` allows.
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
_answers: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Practice]]:
    """One app and database for every operation (what one operation leaves, the next may
    find): a practice, its clinic and number, a patient and a text, for small ids to hit."""
    db = fresh_database(tmp_path_factory.mktemp("schemathesis"))
    settings = Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                        public_url="http://testserver")
    clock = FrozenClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    with TestClient(create_app(settings, db, clock), raise_server_exceptions=False) as client:
        practice = make_practice(client)
        patient = make_patient(client, practice)
        assert client.post("/api/v1/messages", headers=practice.auth, json={
            "patient_id": patient["id"], "body": "Your crown is ready."}).status_code == 201
        yield client, practice
    db.dispose()


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[Counter[tuple[str, int]]]:
    _answers.clear()
    yield _answers
    by_status = Counter[int]()
    for (_, status), count in _answers.items():
        by_status[status] += count
    per_operation = Counter[str]()
    for (operation, _), count in _answers.items():
        per_operation[operation] += count
    fewest = min(per_operation.values(), default=0)
    print(f"\n{sum(_answers.values())} calls over {len(per_operation)} operations (fewest "
          f"{fewest}, in {sum(n == fewest for n in per_operation.values())}): "
          + ", ".join(f"{s} x{n}" for s, n in sorted(by_status.items())))
    few = sorted(op for op, n in per_operation.items() if n < examples(5))
    if few:  # an operation whose input space is smaller than the examples asked for
        print("fewer calls than examples asked for: " + ", ".join(
            f"{op} ({per_operation[op]})" for op in few))


@schema.parametrize()
@settings(max_examples=examples(5), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: Any, api: tuple[TestClient, Practice],
                                             summary: Counter[tuple[str, int]]) -> None:
    client, practice = api
    token = ADMIN_TOKEN if case.path.startswith("/api/v1/admin/") else practice.token
    response = case.call(app=client.app, headers={"Authorization": f"Bearer {token}"})
    summary[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=[not_a_server_error])
