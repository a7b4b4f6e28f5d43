"""The catalogue of stable codes, served and printed from the one table in domain.reasons."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.helpers import make_practice
from textdesk.cli import app as cli
from textdesk.domain.reasons import CATALOGUE, FailureCause, cause_for_error

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_serves_every_code(client: TestClient) -> None:
    assert client.get("/api/v1/reasons").status_code == 401  # a practice's token, as all of it
    r = client.get("/api/v1/reasons", headers=make_practice(client).auth)
    assert r.status_code == 200
    body = r.json()
    assert [x["code"] for x in body["reasons"]] == list(CATALOGUE)
    landline = next(x for x in body["reasons"] if x["code"] == "phone_landline")
    assert landline == {"code": "phone_landline", "severity": "blocker",
                        "message": CATALOGUE["phone_landline"].message,
                        "fix": CATALOGUE["phone_landline"].fix}
    causes = {c["cause"]: c for c in body["failure_causes"]}
    assert set(causes) == {c.value for c in FailureCause}
    for cause in causes.values():  # each listed carrier code maps back to its cause
        assert all(cause_for_error(code).value == cause["cause"]
                   for code in cause["twilio_error_codes"])
    assert 30007 in causes["carrier_filtered"]["twilio_error_codes"]
    assert causes["unknown"]["twilio_error_codes"] == []


def test_docs_reasons_md_is_what_the_command_prints() -> None:
    result = CliRunner().invoke(cli, ["reasons"])
    assert result.exit_code == 0
    assert "| `quiet_hours` | hold |" in result.stdout
    assert (ROOT / "docs" / "reasons.md").read_text() == result.stdout, \
        "docs/reasons.md is stale: run `textdesk reasons > docs/reasons.md`"
