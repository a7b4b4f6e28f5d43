"""Live updates for the staff pages: Server-Sent Events saying when the inbox or a thread changed.

The stream only names new stamps; the page then fetches what changed through the same
fragment endpoints its polling fallback uses, so both paths show the same HTML.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from textdesk.inbox import service as inbox_service
from textdesk.kit.web import state
from textdesk.pages.common import StaffDep

router = APIRouter(include_in_schema=False)

EVERY_SECONDS = 1.0
# A stream ends after a while and the browser reconnects by itself: a session that ended, or a
# server that restarted, is noticed within a minute, and no stream outlives its sign-in long.
TICKS_PER_STREAM = 55


@router.get("/events")
async def events(request: Request, staff: StaffDep, conversation: int = 0) -> EventSourceResponse:
    practice_id = staff.practice.id
    db = state(request).db

    def stamps() -> tuple[str, str]:
        with db.read() as session:  # a poll every second must never wait for a writer
            inbox = inbox_service.inbox_stamp(session, practice_id)
            thread = (inbox_service.thread_stamp(session, practice_id, conversation)
                      if conversation else "")
        return inbox, thread

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = ("", "")
        for _ in range(TICKS_PER_STREAM):
            if await request.is_disconnected():
                return
            now = await run_in_threadpool(stamps)
            if now[0] != last[0]:
                yield {"event": "inbox", "data": now[0]}
            if conversation and now[1] != last[1]:
                yield {"event": "thread", "data": now[1]}
            last = now
            await asyncio.sleep(EVERY_SECONDS)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})
