"""The simulated Open Dental office: patients, appointments and commlogs in memory, with
DateTStamp kept the way Open Dental keeps it (server local time, to the second).

Times are naive "yyyy-MM-dd HH:mm:ss" strings in the office's own time, as the API shows
them. Every change stamps the row with the office clock, so `DateTStamp` filters work.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

OD_TIME = "%Y-%m-%d %H:%M:%S"
# Definition.DefNum of the "Appt Confirmed" category (Category=2), as a fresh office has them.
CONFIRM_DEFS = {19: "Not Called", 21: "Unconfirmed", 23: "Sent", 24: "Confirmed",
                25: "Not Accepted", 26: "Failed"}
# PUT /appointments/{AptNum}/Confirm `confirmVal` → the office's mapped DefNum.
CONFIRM_VALS = {"None": 19, "Sent": 23, "Confirmed": 24, "Not Accepted": 25, "Failed": 26}
TXT_MSG_OK = ("Unknown", "Yes", "No")
APT_STATUSES = ("Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned",
                "PtNote", "PtNoteCompleted")
PATIENT_FIELDS = ("LName", "FName", "Preferred", "WirelessPhone", "TxtMsgOk", "ClinicNum",
                  "Language", "PatStatus", "HmPhone", "Email")


def od_time(value: datetime) -> str:
    return value.strftime(OD_TIME)


@dataclass
class Office:
    """One Open Dental database; `now` is the office's local clock (naive)."""

    developer_key: str = "sim-developer-key"
    customer_key: str = "sim-customer-key"
    now: Callable[[], datetime] = field(
        default=lambda: datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    patients: dict[int, dict[str, Any]] = field(default_factory=dict)
    appointments: dict[int, dict[str, Any]] = field(default_factory=dict)
    commlogs: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next: dict[str, int] = field(default_factory=lambda: {"pat": 1, "apt": 1, "comm": 1})

    def stamp(self) -> str:
        return od_time(self.now())

    def _id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    # -- what the office's staff do in Open Dental ---------------------------------------
    def add_patient(self, fname: str, lname: str, wireless: str = "", *,
                    txt_msg_ok: str = "Unknown", clinic_num: int = 0,
                    language: str = "", preferred: str = "") -> dict[str, Any]:
        with self.lock:
            pat_num = self._id("pat")
            row = {"PatNum": pat_num, "LName": lname, "FName": fname, "MiddleI": "",
                   "Preferred": preferred, "PatStatus": "Patient", "Gender": "Unknown",
                   "Birthdate": "0001-01-01", "HmPhone": "", "WkPhone": "",
                   "WirelessPhone": wireless, "Email": "", "ClinicNum": clinic_num,
                   "Language": language, "TxtMsgOk": txt_msg_ok, "DateTStamp": self.stamp()}
            self.patients[pat_num] = row
            return dict(row)

    def update_patient(self, pat_num: int, **changes: Any) -> dict[str, Any]:
        with self.lock:
            row = self.patients[pat_num]
            row.update(changes)
            row["DateTStamp"] = self.stamp()
            return dict(row)

    def add_appointment(self, pat_num: int, start: datetime, *, status: str = "Scheduled",
                        prov_num: int = 1, clinic_num: int = 0) -> dict[str, Any]:
        with self.lock:
            apt_num = self._id("apt")
            row = {"AptNum": apt_num, "PatNum": pat_num, "AptStatus": status,
                   "Pattern": "//XXXX//", "Confirmed": 19, "confirmed": CONFIRM_DEFS[19],
                   "Op": 1, "Note": "", "ProvNum": prov_num, "provAbbr": f"DOC{prov_num}",
                   "ProvHyg": 0, "AptDateTime": od_time(start), "ClinicNum": clinic_num,
                   "IsNewPatient": "false", "IsHygiene": "false", "DateTStamp": self.stamp(),
                   "Priority": "Normal", "AppointmentTypeNum": 0}
            self.appointments[apt_num] = row
            return dict(row)

    def update_appointment(self, apt_num: int, **changes: Any) -> dict[str, Any]:
        with self.lock:
            row = self.appointments[apt_num]
            if isinstance(changes.get("AptDateTime"), datetime):
                changes["AptDateTime"] = od_time(changes["AptDateTime"])
            row.update(changes)
            row["DateTStamp"] = self.stamp()
            return dict(row)

    def delete_appointment(self, apt_num: int) -> None:
        with self.lock:
            self.appointments.pop(apt_num, None)

    def confirm(self, apt_num: int, def_num: int) -> dict[str, Any]:
        return self.update_appointment(apt_num, Confirmed=def_num,
                                       confirmed=CONFIRM_DEFS[def_num])

    def add_commlog(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            num = self._id("comm")
            stamp = self.stamp()
            row = {"CommlogNum": num, "PatNum": data["PatNum"],
                   "CommDateTime": data.get("CommDateTime") or stamp, "CommType": "235",
                   "commType": data.get("commType") or "Misc", "Note": data["Note"],
                   "Mode_": data.get("Mode_") or "Phone",
                   "SentOrReceived": data.get("SentOrReceived") or "Sent", "UserNum": 0,
                   "DateTStamp": stamp, "CommSource": "ProgramLink", "ProgramNum": 0,
                   "DateTEntry": stamp, "ReferralNum": 0}
            self.commlogs[num] = row
            return dict(row)

    # -- what the API reads ----------------------------------------------------------------
    @staticmethod
    def page(rows: list[dict[str, Any]], offset: int, limit: int) -> list[dict[str, Any]]:
        return [dict(r) for r in rows[offset:offset + limit]]

    def select(self, table: dict[int, dict[str, Any]], since: str | None,
               match: Callable[[dict[str, Any]], bool] = lambda _r: True
               ) -> list[dict[str, Any]]:
        """Rows in primary-key order (ids only grow, so insertion order is key order),
        changed at or after `since` (string compare works: the format sorts as it reads)."""
        with self.lock:
            return [r for r in table.values()
                    if (since is None or r["DateTStamp"] >= since) and match(r)]


FIRST_NAMES = ("Ana", "Ben", "Carla", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "June",
               "Kofi", "Lena", "Mo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tess")
LAST_NAMES = ("Garcia", "Smith", "Nguyen", "Patel", "Kim", "Okafor", "Rossi", "Cohen",
              "Silva", "Berg")


def fill(office: Office, patients: int, appointments: int, *, seed: int = 7,
         start: datetime | None = None, days: int = 7) -> None:
    """A plausible office: wireless phones in 555-01xx ranges, a mix of Text OK answers,
    appointments spread over `days` of office hours from `start` (office local time)."""
    rng = random.Random(seed)
    base = (start or office.now()).replace(hour=8, minute=0, second=0, microsecond=0)
    pat_nums = []
    for i in range(patients):
        phone = f"(415) {200 + (i // 10000) % 700:03d}-{i % 10000:04d}"
        answer = rng.choices(TXT_MSG_OK, weights=(2, 7, 1))[0]
        row = office.add_patient(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES),
                                 "" if i % 25 == 0 else phone, txt_msg_ok=answer)
        pat_nums.append(row["PatNum"])
    for _ in range(appointments):
        slot = base + timedelta(days=rng.randrange(max(days, 1)),
                                minutes=30 * rng.randrange(18))
        office.add_appointment(rng.choice(pat_nums), slot, prov_num=rng.randint(1, 3))
