"""Settings from TEXTDESK_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

SIMULATOR_ACCOUNT_SID = "AC00000000000000000000000000000000"
SIMULATOR_AUTH_TOKEN = "simulator-auth-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEXTDESK_", extra="ignore")

    database_url: str = "sqlite:///textdesk.db"
    admin_token: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    carrier: str = "simulator"  # simulator | twilio
    twilio_account_sid: str = SIMULATOR_ACCOUNT_SID
    twilio_auth_token: str = SIMULATOR_AUTH_TOKEN
    twilio_base_url: str | None = None  # None: the in-process simulator under public_url
    connector_heartbeat_seconds: float = 2.0
    connector_batch_size: int = 100
    connector_poll_seconds: float = 0.2
    connector_lease_seconds: float = 60.0
    connector_max_attempts: int = 8
    carrier_timeout_seconds: float = 10.0
    session_secret: str | None = None
    demo_mode: bool = False  # set by `serve --demo`: the pages show a simulated phone

    @property
    def carrier_base_url(self) -> str:
        return (self.twilio_base_url or self.public_url).rstrip("/")

    @property
    def runs_simulator_in_process(self) -> bool:
        return self.carrier == "simulator" and self.twilio_base_url is None
