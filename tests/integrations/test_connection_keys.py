"""Write-only keys through the API: a left-out key is kept for its address only, the clinic map
changes alone, and the status says which keys are set, never their values."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import Practice
from tests.integrations.conftest import Served

OD = "/api/v1/integrations/opendental"


def test_the_clinic_map_changes_alone_and_a_refused_one_changes_nothing(
        client: TestClient, od: Served, connected: Practice) -> None:
    auth = connected.auth
    r = client.put(OD + "/clinics", headers=auth, json={"clinics": {"2": connected.clinic_id},
                                                        "clinic_id": connected.clinic_id})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["clinics"] == {"2": connected.clinic_id}
    assert body["clinic_id"] == connected.clinic_id
    assert body["secrets_set"] == ["developer_key", "customer_key"]
    assert od.office.customer_key not in r.text
    for bad, status, code in [({"clinics": {"x": connected.clinic_id}}, 422, "invalid_clinics"),
                              ({"clinics": {"3": 999999}}, 404, "clinic_not_found"),
                              ({"clinics": {}, "clinic_id": 999999}, 404, "clinic_not_found")]:
        refused = client.put(OD + "/clinics", headers=auth, json=bad)
        assert refused.status_code == status and refused.json()["error"] == code
    assert client.get(OD, headers=auth).json() == body


def test_the_connection_put_still_replaces_everything(client: TestClient, od: Served,
                                                      connected: Practice) -> None:
    auth = connected.auth
    client.put(OD + "/clinics", headers=auth, json={"clinics": {"2": connected.clinic_id}})
    r = client.put(OD, headers=auth, json={"base_url": od.base_url, "developer_key": "d2",
                                           "customer_key": "c2"})
    assert r.status_code == 200 and r.json()["clinics"] == {}  # the body's clinics: none
    missing = client.put(OD, headers=auth, json={"base_url": od.base_url, "developer_key": "d"})
    assert missing.status_code == 422  # the API's body still asks for both keys
    assert missing.json()["field"] == "customer_key"
