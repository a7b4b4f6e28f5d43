"""The command line: serve, connector, simulator, migrate, backup, restore, why, doctor."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from textdesk.carriers.simulator import create_simulator
from textdesk.carriers.twilio import TwilioCarrier
from textdesk.config import Settings
from textdesk.connector.dispatcher import Dispatcher
from textdesk.domain.errors import AppError
from textdesk.integrations import service as integrations
from textdesk.integrations.opendental.office import Office, fill
from textdesk.integrations.opendental.simulator import MOUNT_PREFIX, OpenDentalSimulator
from textdesk.kit.clock import Clock
from textdesk.messaging.api.reasons import catalogue_markdown
from textdesk.practice.auth import create_user
from textdesk.practice.demo import seed
from textdesk.practice.diagnostics import can_text_patient
from textdesk.practice.health import health
from textdesk.storage import backup as backups, directory as practice_store, schema
from textdesk.storage.db import Database
from textdesk.web.app import create_app

app = typer.Typer(help="textdesk: two-way patient texting.", no_args_is_help=True,
                  add_completion=False)
console = Console()


def _logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs at INFO, and carrier URLs carry phone numbers in their query.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    settings = Settings()
    if host and port and "TEXTDESK_PUBLIC_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings.public_url = f"http://{shown}:{port}"
    return settings


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file the URL names when it does not exist yet; None otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database).resolve()
    return None if path.exists() else path


def _open_database(url: str, *, migrate: bool = False) -> Database:
    """The database (migrated first when asked); exits with one sentence unless it is current."""
    missing = _missing_sqlite_file(url)
    if missing is not None and not migrate:  # connecting would create an empty file
        console.print(f"No database at {missing}: set TEXTDESK_DATABASE_URL, or run "
                      "`textdesk migrate` to create it.", markup=False, style="red")
        raise typer.Exit(1)
    try:
        if migrate:
            for line in schema.upgrade(url):
                console.print(line, markup=False)
        db = Database(url)
        schema.check_current(db.engine)
    except schema.SchemaNotCurrent as error:
        console.print(str(error), markup=False, style="red")
        raise typer.Exit(1) from error
    return db


def _carrier(settings: Settings) -> Any:
    return TwilioCarrier(settings.twilio_account_sid, settings.twilio_auth_token,
                         settings.carrier_base_url, timeout=settings.carrier_timeout_seconds)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          demo: bool = typer.Option(False, help="Fill an empty database with a demo practice."),
          connector: bool = typer.Option(True, help="Run the connector in this process."),
          workers: int = typer.Option(1, min=1, max=64, help=(
              "Web processes. With more than one, this process runs the one connector (and "
              "the simulator, on --port + 1) and N uvicorn workers serve the web.")),
          ) -> None:
    """Run the API, staff pages, connector and (unless a real carrier is set) the simulator."""
    _logging()
    settings = _settings(host, port)
    db = _open_database(settings.database_url, migrate=demo)  # the demo migrates by itself
    if demo:
        settings.demo_mode = True  # the pages show the simulated phone
        _seed_demo(db, settings)
    if workers > 1:
        _serve_workers(settings, db, host, port, workers, connector=connector)
        return
    simulator = None
    if settings.runs_simulator_in_process:
        simulator = create_simulator(auth_token=settings.twilio_auth_token,
                                     account_sid=settings.twilio_account_sid,
                                     textdesk_public_url=settings.public_url)
        simulator.start()
    web = create_app(settings, db, simulator=simulator)
    if simulator is not None:
        _mount_open_dental_simulator(web, demo)
        if demo:
            _connect_demo_office(db, settings)
    server = uvicorn.Server(uvicorn.Config(web, host=host, port=port, log_level="warning",
                                          access_log=False))
    dispatcher = Dispatcher(db, _carrier(settings), settings) if connector else None

    def start_connector_when_listening() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if dispatcher is not None and server.started:
            dispatcher.start()
        console.print(f"textdesk is listening on {settings.public_url}")

    threading.Thread(target=start_connector_when_listening, daemon=True).start()
    try:
        server.run()
    finally:
        if dispatcher is not None:
            dispatcher.stop()
        if simulator is not None:
            simulator.stop()


def _serve_workers(settings: Settings, db: Database, host: str, port: int, workers: int, *,
                   connector: bool) -> None:
    """N uvicorn workers serve the web; this process runs the one connector and, unless a real
    carrier is set, the simulator on port + 1 (its state must live in one process).

    What the workers share they share through the database (sessions, throttles, live-update
    stamps) or through the environment set here: the session secret, so that a cookie signed
    by one worker is good on every other (decision 0188).
    """
    env = {"TEXTDESK_PUBLIC_URL": settings.public_url,
           "TEXTDESK_SESSION_SECRET": settings.session_secret or secrets.token_urlsafe(48),
           "TEXTDESK_DEMO_MODE": "true" if settings.demo_mode else "false"}
    simulator, sim_server = None, None
    if settings.runs_simulator_in_process:
        sim_url = f"http://127.0.0.1:{port + 1}"
        env["TEXTDESK_TWILIO_BASE_URL"] = env["TEXTDESK_TWILIO_LOOKUP_BASE_URL"] = sim_url
        simulator = create_simulator(auth_token=settings.twilio_auth_token,
                                     account_sid=settings.twilio_account_sid,
                                     textdesk_public_url=settings.public_url)
        sim_web = FastAPI(title="textdesk carrier simulator")
        sim_web.include_router(simulator.router)
        sim_server = uvicorn.Server(uvicorn.Config(sim_web, host="127.0.0.1", port=port + 1,
                                                   log_level="warning", access_log=False))
        simulator.start()
        threading.Thread(target=sim_server.run, daemon=True).start()
    os.environ.update(env)  # what the workers are started with
    settings = Settings()
    dispatcher = Dispatcher(db, _carrier(settings), settings) if connector else None
    if dispatcher is not None:
        dispatcher.start()
    console.print(f"textdesk is listening on {settings.public_url} with {workers} workers")
    try:
        uvicorn.run("textdesk.web.app:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level="warning", access_log=False)
    finally:
        if dispatcher is not None:
            dispatcher.stop()
        if sim_server is not None and simulator is not None:
            sim_server.should_exit = True
            simulator.stop()


def _mount_open_dental_simulator(web: Any, demo: bool) -> None:
    """The simulated Open Dental office under /od/api/v1 (a demo office with --demo)."""
    office_sim = OpenDentalSimulator()
    if demo:
        fill(office_sim.office, patients=300, appointments=400)
    web.include_router(office_sim.router, prefix=MOUNT_PREFIX)


def _connect_demo_office(db: Any, settings: Settings) -> None:
    """Connect the demo practice to the simulated office (its keys need a secret key)."""
    if not settings.secret_key:
        console.print("  Set TEXTDESK_SECRET_KEY to connect the demo to its simulated "
                      f"Open Dental office ({settings.public_url}{MOUNT_PREFIX}).")
        return
    keys = Office()
    with db.transaction() as session:
        practices = practice_store.list_practices(session)
        if len(practices) != 1 or integrations.states(session, practices[0].id, Clock().now()):
            return
        integrations.connect(session, practices[0], integrations.OPEN_DENTAL, {
            "base_url": settings.public_url + MOUNT_PREFIX,
            "developer_key": keys.developer_key, "customer_key": keys.customer_key},
            settings, Clock().now())
    console.print(f"  Connected to the simulated Open Dental office at {MOUNT_PREFIX}.")


def _seed_demo(db: Any, settings: Settings) -> None:
    with db.transaction() as session:
        demo = seed(session, Clock().now(), api_token=os.environ.get("TEXTDESK_DEMO_TOKEN"),
                    staff_password=os.environ.get("TEXTDESK_DEMO_PASSWORD"))
    if demo is None:
        console.print("Database already has a practice; demo data left as it is.")
        return
    console.print(f"Demo practice #{demo.practice_id} created.")
    console.print(f"  API token: {demo.api_token}")
    for line in demo.extra_lines:
        console.print(f"  {line}")


@app.command("connector")
def run_connector() -> None:
    """Run the connector alone (several may run at once on PostgreSQL)."""
    _logging()
    settings = Settings()
    db = _open_database(settings.database_url)
    dispatcher = Dispatcher(db, _carrier(settings), settings)
    console.print(f"connector {dispatcher.connector_id} started")
    with contextlib.suppress(KeyboardInterrupt):
        dispatcher.run_forever()


@app.command()
def simulator(host: str = "127.0.0.1", port: int = 8100) -> None:
    """Run the carrier simulator alone (and the Open Dental simulator, /od/api/v1)."""
    _logging()
    settings = Settings()
    sim = create_simulator(auth_token=settings.twilio_auth_token,
                           account_sid=settings.twilio_account_sid,
                           textdesk_public_url=settings.public_url)
    web = FastAPI(title="textdesk carrier simulator")
    web.include_router(sim.router)
    _mount_open_dental_simulator(web, demo=True)
    sim.start()
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning")
    finally:
        sim.stop()


@app.command()
def migrate(sql: bool = typer.Option(False, "--sql",
                                     help="Print the statements instead of running them.")
            ) -> None:
    """Bring the database to this version's schema; adopt one made before migrations."""
    url = Settings().database_url
    try:
        if sql:
            print(schema.upgrade_sql(url), end="")
            return
        done = schema.upgrade(url)
    except schema.SchemaNotCurrent as error:
        console.print(str(error), markup=False, style="red")
        raise typer.Exit(1) from error
    for line in done or [f"The database is at {schema.head_revision()}; nothing to do."]:
        console.print(line, markup=False)


@app.command()
def backup(path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, even while serve runs."""
    try:
        pages = backups.backup(Settings().database_url, path)
    except backups.BackupError as error:
        console.print(str(error), markup=False, style="red")
        raise typer.Exit(1) from error
    console.print(f"Backed up {pages} pages to {path} (integrity check: ok).", markup=False)


@app.command()
def restore(path: Path) -> None:
    """Put a backup back in place of the SQLite database, after checking it (stop serve first)."""
    url = Settings().database_url
    try:
        backups.restore(url, path)
    except backups.BackupError as error:
        console.print(str(error), markup=False, style="red")
        raise typer.Exit(1) from error
    console.print(f"Restored {path}.", markup=False)
    try:
        schema.check_current(Database(url).engine)
    except schema.SchemaNotCurrent as error:
        console.print(str(error), markup=False)


@app.command()
def why(patient_id: int, practice_id: int | None = typer.Option(
        None, help="Optional check: the practice the patient must belong to."),
        body: str | None = typer.Option(None, help="A draft text to judge too.")) -> None:
    """Print why a patient can or cannot be texted: every blocker, hold and warning."""
    db = _open_database(Settings().database_url)
    with db.read() as session:
        owner = practice_store.practice_of_patient(session, patient_id)
        if practice_id is None:
            practice_id = owner if owner is not None else 0  # 0: no practice, so not found
        try:
            verdict = can_text_patient(session, practice_id, patient_id, Clock().now(), body)
        except AppError as error:
            console.print(f"[red]{error.code}[/red]: {error.message}")
            raise typer.Exit(1) from error
    headline = ("[green]Can text this patient.[/green]" if verdict.can_text
                else "[red]Cannot text this patient.[/red]")
    console.print(headline)
    table = Table("kind", "code", "why", "fix")
    for kind, reasons in (("blocker", verdict.blockers), ("hold", verdict.holds),
                          ("warning", verdict.warnings)):
        for r in reasons:
            table.add_row(kind, r.code, r.message, r.fix)
    if table.row_count:
        console.print(table)
    raise typer.Exit(0 if verdict.can_text else 1)


@app.command()
def reasons() -> None:
    """Print the catalogue of stable codes as Markdown (docs/reasons.md is this output)."""
    sys.stdout.write(catalogue_markdown())


_LIGHT_STYLE = {"green": "green", "amber": "yellow", "red": "red"}


def _one_practice(session: Any, practice_id: int | None) -> int:
    """The practice asked for, or the only one; exits 2 when that cannot be told."""
    if practice_id is None:
        practices = practice_store.list_practices(session)
        if len(practices) != 1:
            console.print(f"Give --practice-id: the database holds {len(practices)} practices.")
            raise typer.Exit(2)
        return practices[0].id
    if practice_store.get_practice(session, practice_id) is None:
        console.print(f"[red]practice_not_found[/red]: no practice #{practice_id}.")
        raise typer.Exit(2)
    return practice_id


@app.command()
def doctor(practice_id: int | None = typer.Option(
        None, help="The practice (needed when the database holds several)."),
        as_json: bool = typer.Option(False, "--json", help="Print the lines as JSON.")) -> None:
    """Check the practice's health: each line green, amber or red, with its fix (H3).

    Exits 1 when a line is red (texts cannot go out), else 0.
    """


    db = _open_database(Settings().database_url)
    with db.read() as session:
        practice_id = _one_practice(session, practice_id)
        report = health(session, practice_id, Clock().now())
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        overall = report.status.value
        console.print(f"Health of practice #{practice_id}: "
                      f"[{_LIGHT_STYLE[overall]}]{overall}[/{_LIGHT_STYLE[overall]}]")
        table = Table("check", "status", "what", "fix")
        for line in report.lines:
            style = _LIGHT_STYLE[line.status.value]
            table.add_row(line.check, f"[{style}]{line.status.value}[/{style}]", line.message,
                          line.fix)
        console.print(table)
    raise typer.Exit(1 if report.status.value == "red" else 0)


@app.command("add-staff")
def add_staff(email: str,
              practice_id: int = typer.Option(..., help="The practice the user works for."),
              name: str = typer.Option("", help="The name shown in the pages."),
              manager: bool = typer.Option(False, help="May change the practice's settings."),
              password: str = typer.Option(..., prompt=True, hide_input=True,
                                           confirmation_prompt=True)) -> None:
    """Create a staff user who signs in to the pages."""
    db = _open_database(Settings().database_url)
    try:
        with db.transaction() as session:
            user = create_user(session, practice_id, email, name, password, Clock().now(),
                               is_manager=manager)
            console.print(f"Staff user #{user.id} {user.email} can now sign in.")
    except AppError as error:
        console.print(f"[red]{error.code}[/red]: {error.message}")
        raise typer.Exit(1) from error


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
