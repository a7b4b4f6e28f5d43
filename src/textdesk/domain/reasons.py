"""The catalogue of stable reason codes: every blocker, hold, warning and failure cause."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    BLOCKER = "blocker"  # nothing is sent until someone fixes it
    HOLD = "hold"  # accepted; waits and leaves by itself when the hold lifts
    WARNING = "warning"  # may fail or cost more; does not stop the text
    SKIP = "skip"  # an automated text that was not written (campaign, reminder), and why
    EXPIRED = "expired"  # a text canceled unsent: it could only have left after its validity


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class ReasonSpec:
    code: str
    severity: Severity
    message: str  # default sentence for staff; a rule may pass a more precise one
    fix: str


# How an opted-out patient texts again (C4): the one sentence the send box and the consent
# panel both show.
OPT_BACK_IN = ("The patient can opt back in by texting START, or you can record the patient's "
               "new consent.")

_B, _H, _W = Severity.BLOCKER, Severity.HOLD, Severity.WARNING
_S = Severity.SKIP
_E = Severity.EXPIRED

# What held a text until its validity ended, as its expiry reason says it.
_HELD_BY = {
    "connector_down": "no connector was running until its validity ended",
    "quiet_hours": "it was outside the send window until its validity ended",
    "rate_limited": "the sending number's pace held it until its validity ended",
    "carrier_retry": "the carrier refused it for a moment, and its next try would have come "
                     "after its validity ended",
    "daily_cap_reached": "the sending number had sent its daily cap until its validity ended",
    "number_pending_verification": "the clinic's number waited for verification until its "
                                   "validity ended",
    "campaign_scheduled": "its campaign started only after its validity ended",
    "line_type_lookup": "the carrier's line-type lookup had not answered when its validity "
                        "ended",
}
_EXPIRED_FIX = ("Nothing to send now: it would have arrived too late. Send a new text if it is "
                "still needed.")


def _expired_specs() -> list[ReasonSpec]:
    """`expired` and one `expired_<hold>` per hold that can keep a text past its validity."""
    specs = [ReasonSpec("expired", _E, "The text was no longer worth sending when it could "
                        "leave (its validity had ended); it was canceled, never sent.",
                        _EXPIRED_FIX)]
    for hold, why in _HELD_BY.items():
        specs.append(ReasonSpec(
            f"expired_{hold}", _E,
            f"The text was canceled, never sent: {why}.",
            _FIXES_AFTER_EXPIRY.get(hold, _EXPIRED_FIX)))
    return specs


_FIXES_AFTER_EXPIRY = {
    "connector_down": "Keep the connector running (textdesk connector); send a new text if it "
                      "is still needed.",
    "number_pending_verification": "Ask the operator to confirm the hosted number; send a new "
                                   "text if it is still needed.",
}

CATALOGUE: dict[str, ReasonSpec] = {
    spec.code: spec
    for spec in [
        ReasonSpec("sms_not_enabled", _B, "Texting is not enabled for this practice.",
                   "Enable SMS for the practice in Settings."),
        ReasonSpec("messaging_not_approved", _B,
                   "The clinic's sending number has no approved messaging registration.",
                   "Finish the 10DLC / toll-free registration of the clinic's number."),
        ReasonSpec("no_sending_number", _B, "The clinic has no sending number.",
                   "Add a sending number to the clinic."),
        ReasonSpec("no_wireless_phone", _B, "There is no wireless phone on file.",
                   "Add the patient's wireless phone."),
        ReasonSpec("phone_unparseable", _B, "The phone number cannot be read as a phone number.",
                   "Correct the formatting of the phone number."),
        ReasonSpec("phone_invalid", _B, "The phone number does not exist for its country.",
                   "Correct the country or area code."),
        ReasonSpec("phone_landline", _B, "The phone number is a landline.",
                   "Enter a wireless number."),
        ReasonSpec("country_not_eligible", _B,
                   "The number's country is not among the practice's allowed countries.",
                   "Use a number in an allowed country, or allow the country in Settings."),
        ReasonSpec("not_opted_in", _B, "There is no opt-in on record.",
                   "Record the patient's consent."),
        ReasonSpec("no_marketing_consent", _B,
                   "The patient agreed to texts about their care, but not to marketing texts.",
                   "Record the patient's marketing consent, with how they gave it."),
        ReasonSpec("opted_out", _B, "The patient opted out of texts from this practice.",
                   OPT_BACK_IN),
        ReasonSpec("test_recipient_not_office", _B,
                   "A test text goes only to the practice's own phones: the office mobile or a "
                   "clinic's phone.",
                   "Send the test to the office mobile or a clinic phone, or set the office "
                   "mobile in Settings."),
        ReasonSpec("test_recipient_is_sender", _B,
                   "The test text would go to the sending number itself; the carrier refuses a "
                   "text whose To and From are the same number.",
                   "Send the test to the office mobile, not to the clinic's sending number."),
        ReasonSpec("lead_inactive_stage", _B,
                   "The lead is no longer active, so the lead thread is closed.",
                   "Phone the patient from the office, or reopen the lead on the Leads board."),
        ReasonSpec("spending_limit_reached", _B,
                   "The clinic's monthly spending limit is reached; manual texts are paused.",
                   "Raise the clinic's monthly limit, or wait for the next month."),
        ReasonSpec("url_in_manual_text", _B,
                   "The text holds a link and the practice does not allow links in manual texts.",
                   "Remove the link: links go out only in reminders and recall texts, on the "
                   "practice's own link domain."),
        ReasonSpec("body_empty", _B, "The text is empty.", "Write the text."),
        ReasonSpec("body_too_long", _B, "The text is over 1,600 characters.",
                   "Shorten the text to 1,600 characters or fewer."),
        ReasonSpec("connector_down", _H,
                   "No connector is running; the text waits and goes out when it is back.",
                   "Start the connector (textdesk connector), or check the Connector page."),
        ReasonSpec("number_pending_verification", _H,
                   "The clinic's hosted landline is waiting for verification; the text goes "
                   "out once it is verified.",
                   "Ask the operator to confirm the hosted number."),
        ReasonSpec("quiet_hours", _H,
                   "It is outside the send window in the recipient's local time; the text "
                   "waits for the window to open.",
                   "Nothing to do: it leaves when the window opens."),
        ReasonSpec("rate_limited", _H,
                   "The sending number is at its carrier rate limit; the text waits its turn.",
                   "Nothing to do: it leaves as soon as the pace allows."),
        ReasonSpec("carrier_retry", _H,
                   "The carrier did not accept the text yet (a temporary error); it is retried "
                   "with backoff.",
                   "Nothing to do: it is retried. If it keeps failing, check the Connector page."),
        ReasonSpec("daily_cap_reached", _H,
                   "The sending number has sent its daily cap of segments; the text waits for "
                   "the next day.",
                   "Nothing to do: it leaves tomorrow. Ask for a higher cap to send more a day."),
        ReasonSpec("campaign_paused", _H, "The text's campaign is paused.",
                   "Resume the campaign to send it."),
        ReasonSpec("campaign_scheduled", _H,
                   "The text's campaign starts later; the text waits for its start time.",
                   "Nothing to do: it leaves once the campaign has started."),
        ReasonSpec("line_type_lookup", _H,
                   "The carrier's line-type lookup of the phone has not answered yet; the text "
                   "waits for it (a few minutes at most).",
                   "Nothing to do: it leaves once the carrier says the phone takes texts."),
        *_expired_specs(),
        ReasonSpec("duplicate_phone", _S,
                   "Another patient with the same phone already gets this campaign.",
                   "Nothing to do: one text per phone."),
        ReasonSpec("reminder_superseded", _S,
                   "A reminder closer to the appointment was due at the same time; only that "
                   "one was sent.",
                   "Nothing to do: the patient got the closer reminder."),
        ReasonSpec("appointment_too_soon", _S,
                   "The reminder could only arrive after the appointment starts (send window).",
                   "Nothing to do, or widen the practice's send window."),
        ReasonSpec("appointment_confirmed", _S,
                   "The appointment is already confirmed; no confirmation request was sent.",
                   "Nothing to do."),
        ReasonSpec("link_shortener", _W,
                   "The text uses a public link shortener, which carriers often block.",
                   "Use the full link on your own domain."),
        ReasonSpec("phone_voip", _W, "The carrier's lookup says the number is a VoIP line, "
                   "which often cannot receive texts.", "Ask the patient for a mobile number."),
        ReasonSpec("multi_segment", _W, "The text is sent as several segments and costs more.",
                   "Shorten the text to fit one segment."),
        ReasonSpec("unicode_characters", _W,
                   "The text has characters outside GSM-7, so it is sent as UCS-2 and costs more.",
                   "Replace emoji and special characters with plain ones."),
    ]
}


def reason(code: str, message: str | None = None) -> Reason:
    """The Reason for a catalogued code, with an optional more precise sentence."""
    spec = CATALOGUE[code]
    return Reason(code, message or spec.message, spec.fix)


class FailureCause(StrEnum):
    RECIPIENT_INVALID = "recipient_invalid"  # number invalid or out of service
    RECIPIENT_LANDLINE = "recipient_landline"  # number is a landline
    RECIPIENT_UNREACHABLE = "recipient_unreachable"  # phone off or out of reach
    COUNTRY_NOT_PERMITTED = "country_not_permitted"  # account may not text that country
    RECIPIENT_OPTED_OUT = "recipient_opted_out"  # carrier-level opt-out
    CARRIER_FILTERED = "carrier_filtered"  # filtered as spam
    SENDER_UNREGISTERED = "sender_unregistered"  # sending number registration missing
    RATE_LIMITED = "rate_limited"  # too many too fast
    SENDER_INVALID = "sender_invalid"  # the From number cannot send
    RECIPIENT_IS_SENDER = "recipient_is_sender"  # To and From are the same number
    UNKNOWN = "unknown"  # the carrier gave no reason


_CAUSE_BY_CODE: dict[int, FailureCause] = {
    21211: FailureCause.RECIPIENT_INVALID, 30005: FailureCause.RECIPIENT_INVALID,
    21614: FailureCause.RECIPIENT_LANDLINE, 30006: FailureCause.RECIPIENT_LANDLINE,
    21612: FailureCause.RECIPIENT_UNREACHABLE, 30003: FailureCause.RECIPIENT_UNREACHABLE,
    21408: FailureCause.COUNTRY_NOT_PERMITTED,
    21610: FailureCause.RECIPIENT_OPTED_OUT, 30004: FailureCause.RECIPIENT_OPTED_OUT,
    30007: FailureCause.CARRIER_FILTERED,
    30034: FailureCause.SENDER_UNREGISTERED,
    20429: FailureCause.RATE_LIMITED, 30001: FailureCause.RATE_LIMITED,
    63018: FailureCause.RATE_LIMITED,
    21212: FailureCause.SENDER_INVALID, 21606: FailureCause.SENDER_INVALID,
    21611: FailureCause.SENDER_INVALID, 21701: FailureCause.SENDER_INVALID,
    21266: FailureCause.RECIPIENT_IS_SENDER,
}

_CAUSE_TEXT: dict[FailureCause, tuple[str, str]] = {
    FailureCause.RECIPIENT_INVALID: ("The number is invalid or no longer in service.",
                                     "Edit the patient's phone number."),
    FailureCause.RECIPIENT_LANDLINE: ("The number is a landline.", "Enter a wireless number."),
    FailureCause.RECIPIENT_UNREACHABLE: ("The phone is off or out of reach.", "Try again later."),
    FailureCause.COUNTRY_NOT_PERMITTED: ("The account may not text that country.",
                                         "Enable the country on the carrier account, or use "
                                         "a number in an allowed country."),
    FailureCause.RECIPIENT_OPTED_OUT: ("The patient opted out at the carrier; the opt-out is "
                                       "now on record.",
                                       OPT_BACK_IN),
    FailureCause.CARRIER_FILTERED: ("The carrier filtered the text as spam, often because of "
                                    "a link.", "Remove links or shorteners and send again."),
    FailureCause.SENDER_UNREGISTERED: ("The sending number's registration is missing.",
                                       "Finish the 10DLC / toll-free registration."),
    FailureCause.RATE_LIMITED: ("Too many texts too fast; it is retried.",
                                "Nothing to do: textdesk retries it."),
    FailureCause.SENDER_INVALID: ("The sending number (or its messaging service) cannot send "
                                  "texts on this account.",
                                  "Check the clinic's sending number and messaging service "
                                  "with the carrier."),
    FailureCause.RECIPIENT_IS_SENDER: ("The text was addressed to the sending number itself; "
                                       "the carrier refuses a text whose To and From are the "
                                       "same number.",
                                       "Send it to the office mobile, not to the clinic's "
                                       "sending number."),
    FailureCause.UNKNOWN: ("The carrier gave no reason.",
                           "Send a test text to yourself to check the path."),
}


def cause_for_error(error_code: int | None) -> FailureCause:
    if error_code is None:
        return FailureCause.UNKNOWN
    return _CAUSE_BY_CODE.get(error_code, FailureCause.UNKNOWN)


def carrier_codes(cause: FailureCause) -> list[int]:
    """The Twilio error codes that mean `cause` (none for UNKNOWN: every other code)."""
    return sorted(code for code, known in _CAUSE_BY_CODE.items() if known is cause)


def describe_failure(cause: FailureCause) -> tuple[str, str]:
    """(sentence, fix) for a failure cause."""
    return _CAUSE_TEXT[cause]
