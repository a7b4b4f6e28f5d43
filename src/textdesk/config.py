"""Settings from TEXTDESK_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from textdesk.storage.db import DEFAULT_PUBLIC_URL

SIMULATOR_ACCOUNT_SID = "AC00000000000000000000000000000000"
SIMULATOR_AUTH_TOKEN = "simulator-auth-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEXTDESK_", extra="ignore")

    database_url: str = "sqlite:///textdesk.db"
    admin_token: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    carrier: str = "simulator"  # simulator | twilio
    twilio_account_sid: str = SIMULATOR_ACCOUNT_SID
    twilio_auth_token: str = SIMULATOR_AUTH_TOKEN
    twilio_base_url: str | None = None  # None: the in-process simulator under public_url
    twilio_lookup_base_url: str | None = None  # Lookup v2; None: the simulator, as above
    lookup_monthly_budget: int = 0  # line-type lookups per practice a month; 0: none made
    connector_heartbeat_seconds: float = 2.0
    connector_batch_size: int = 100
    connector_poll_seconds: float = 0.2
    connector_lease_seconds: float = 60.0
    connector_max_attempts: int = 8
    # Carrier requests one connector keeps in flight at once (TEXTDESK_CONNECTOR_IN_FLIGHT).
    connector_in_flight: int = 200
    # The carrier account's segments a second across all numbers; None: the carrier's own
    # 429 answers set the pace (TEXTDESK_CARRIER_ACCOUNT_SEGMENTS_PER_SECOND).
    carrier_account_segments_per_second: float | None = None
    carrier_timeout_seconds: float = 10.0
    webhook_timeout_seconds: float = 5.0  # one POST to an integration's webhook receiver
    session_secret: str | None = None
    # Seals practice-system keys at rest (Fernet, key derived from this); a database dump
    # alone does not reveal them. Required before a practice connects its system.
    secret_key: str | None = None
    practice_system_sync_minutes: float = 5.0  # how often each connected practice syncs
    max_body_bytes: int = 1_000_000  # TEXTDESK_MAX_BODY_BYTES: larger request bodies get 413
    # Texts' pictures and PDFs (MMS): where their bytes are kept, how big one may be, how
    # long the signed link the carrier fetches an outbound file from stays valid.
    media_store: str = "filesystem"  # the one kind built in (docs/decisions/0191-media-storage.md)
    media_dir: str = "textdesk-media"  # TEXTDESK_MEDIA_DIR: the folder of the file-system store
    media_max_bytes: int = 5 * 1024 * 1024  # one file, uploaded or fetched; Twilio's MMS cap
    media_link_seconds: int = 3600  # a MediaUrl handed to the carrier expires after this
    media_fetch_attempts: int = 5  # tries to fetch a patient's picture before it is `failed`
    demo_mode: bool = False  # set by `serve --demo`: the pages show a simulated phone

    @property
    def carrier_base_url(self) -> str:
        return (self.twilio_base_url or self.public_url).rstrip("/")

    @property
    def lookup_base_url(self) -> str:
        return (self.twilio_lookup_base_url or self.public_url).rstrip("/")

    @property
    def runs_simulator_in_process(self) -> bool:
        return self.carrier == "simulator" and self.twilio_base_url is None
