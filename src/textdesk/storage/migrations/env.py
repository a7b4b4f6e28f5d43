"""Alembic's entry: runs the revisions on the connection textdesk.storage.schema hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from textdesk.storage.models import Base, UTCDateTime


def render_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    # A revision is frozen: it names plain SQL types, never a Python class that may change.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


OPTIONS: dict[str, Any] = {
    "target_metadata": Base.metadata,
    "render_as_batch": True,  # SQLite alters a table by copying it; batch mode does that
    "render_item": render_item,
    "compare_type": True,
}

config = context.config
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      dialect_opts={"paramstyle": "named"}, **OPTIONS)
else:
    context.configure(connection=config.attributes["connection"], **OPTIONS)
with context.begin_transaction():
    context.run_migrations()
