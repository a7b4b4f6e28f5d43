"""The simulator's Twilio Lookup v2 endpoint: line type intelligence for any number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from textdesk.carriers.lookup import LINE_TYPE_FIELD
from textdesk.carriers.simulator.protocol import error_response

if TYPE_CHECKING:
    from textdesk.carriers.simulator.app import Simulator

# Fixed numbers the simulator answers with a set line type (for tests of VoIP and landlines).
TEST_NUMBERS: dict[str, str] = {
    "+14159929960": "nonFixedVoip",
    "+12015551234": "landline",
    "+15108675310": "mobile",
}


def line_type_of(sim: Simulator, number: str) -> str:
    """`landline` for numbers `POST /sim/landlines` marked, test numbers as listed, else mobile."""
    if sim.state.landline_status(number) is not None:
        return "landline"
    return TEST_NUMBERS.get(number, "mobile")


def lookup_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    @router.get("/v2/PhoneNumbers/{number}")
    def lookup(number: str, request: Request) -> Response:
        if not sim.is_authorized(request.headers.get("authorization"), sim.account_sid):
            return error_response(20003, 401)
        sim.lookups.append(number)
        fields = request.query_params.get("Fields", "")
        body: dict[str, Any] = {
            "calling_country_code": "1", "country_code": "US", "phone_number": number,
            "national_format": number, "valid": number.startswith("+") and len(number) > 8,
            "validation_errors": [], "caller_name": None, "sim_swap": None,
            "call_forwarding": None, LINE_TYPE_FIELD: None,
            "url": f"{sim.public_url}/v2/PhoneNumbers/{number}",
        }
        if LINE_TYPE_FIELD in fields.split(","):
            body[LINE_TYPE_FIELD] = {
                "type": line_type_of(sim, number), "carrier_name": "Simulated Wireless",
                "mobile_country_code": "310", "mobile_network_code": "000",
                "error_code": None,
            }
        return JSONResponse(body)

    @router.get("/sim/lookups")
    def lookups_done() -> dict[str, Any]:
        return {"count": len(sim.lookups), "numbers": list(sim.lookups)}

    return router
