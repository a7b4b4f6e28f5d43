"""The command line: serve, connector, simulator, why, doctor."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from textdesk.config import Settings

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


def _carrier(settings: Settings) -> Any:
    from textdesk.carriers.twilio import TwilioCarrier

    return TwilioCarrier(settings.twilio_account_sid, settings.twilio_auth_token,
                         settings.carrier_base_url, timeout=settings.carrier_timeout_seconds)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          demo: bool = typer.Option(False, help="Fill an empty database with a demo practice."),
          connector: bool = typer.Option(True, help="Run the connector in this process."),
          ) -> None:
    """Run the API, staff pages, connector and (unless a real carrier is set) the simulator."""
    import uvicorn

    from textdesk.connector.dispatcher import Dispatcher
    from textdesk.storage.db import Database
    from textdesk.web.app import create_app

    _logging()
    settings = _settings(host, port)
    db = Database(settings.database_url)
    db.create_schema()
    if demo:
        settings.demo_mode = True  # the pages show the simulated phone
        _seed_demo(db, settings)
    simulator = None
    if settings.runs_simulator_in_process:
        from textdesk.carriers.simulator import create_simulator

        simulator = create_simulator(auth_token=settings.twilio_auth_token,
                                     account_sid=settings.twilio_account_sid,
                                     textdesk_public_url=settings.public_url)
        simulator.start()
    web = create_app(settings, db, simulator=simulator)
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


def _seed_demo(db: Any, settings: Settings) -> None:
    from textdesk.services.clock import Clock
    from textdesk.services.demo import seed

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
    from textdesk.connector.dispatcher import Dispatcher
    from textdesk.storage.db import Database

    _logging()
    settings = Settings()
    db = Database(settings.database_url)
    db.create_schema()
    dispatcher = Dispatcher(db, _carrier(settings), settings)
    console.print(f"connector {dispatcher.connector_id} started")
    with contextlib.suppress(KeyboardInterrupt):
        dispatcher.run_forever()


@app.command()
def simulator(host: str = "127.0.0.1", port: int = 8100) -> None:
    """Run the carrier simulator alone."""
    import uvicorn
    from fastapi import FastAPI

    from textdesk.carriers.simulator import create_simulator

    _logging()
    settings = Settings()
    sim = create_simulator(auth_token=settings.twilio_auth_token,
                           account_sid=settings.twilio_account_sid,
                           textdesk_public_url=settings.public_url)
    web = FastAPI(title="textdesk carrier simulator")
    web.include_router(sim.router)
    sim.start()
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning")
    finally:
        sim.stop()


@app.command()
def why(patient_id: int, practice_id: int | None = typer.Option(
        None, help="The practice (needed when the database holds several)."),
        body: str | None = typer.Option(None, help="A draft text to judge too.")) -> None:
    """Print why a patient can or cannot be texted: every blocker, hold and warning."""
    from textdesk.domain.errors import AppError
    from textdesk.services.clock import Clock
    from textdesk.services.diagnostics import can_text_patient
    from textdesk.storage import practices as practice_store
    from textdesk.storage.db import Database

    db = Database(Settings().database_url)
    db.create_schema()
    with db.transaction() as session:
        if practice_id is None:
            practices = practice_store.list_practices(session)
            if len(practices) != 1:
                console.print("Give --practice-id: the database holds "
                              f"{len(practices)} practices.")
                raise typer.Exit(2)
            practice_id = practices[0].id
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


_LIGHT_STYLE = {"green": "green", "amber": "yellow", "red": "red"}


def _one_practice(session: Any, practice_id: int | None) -> int:
    """The practice asked for, or the only one; exits 2 when that cannot be told."""
    from textdesk.storage import practices as practice_store

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
    import json

    from textdesk.services.clock import Clock
    from textdesk.services.health import health
    from textdesk.storage.db import Database

    db = Database(Settings().database_url)
    db.create_schema()
    with db.transaction() as session:
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
    from textdesk.domain.errors import AppError
    from textdesk.services.auth import create_user
    from textdesk.services.clock import Clock
    from textdesk.storage.db import Database

    db = Database(Settings().database_url)
    db.create_schema()
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
