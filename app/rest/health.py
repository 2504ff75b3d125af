"""`GET /api/health`: is the database reachable, and at which migration revision."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from app import __version__
from app.db.migrate import current_revision, head_revision


async def health(request: Request) -> JSONResponse:
    db = request.app.state.db
    try:
        revision = await asyncio.wait_for(current_revision(db), timeout=5)
    except Exception as error:  # any failure to reach the database is a 503 with its reason
        reason = f"database unreachable: {type(error).__name__}: {str(error).splitlines()[0]}"
        return JSONResponse(
            {"status": "error", "database": "unreachable", "reason": reason[:300]},
            status_code=503,
        )
    head = head_revision()
    body = {
        "status": "ok" if revision == head else "error",
        "database": db.dialect,
        "revision": revision,
        "expectedRevision": head,
        "version": __version__,
    }
    if revision != head:
        body["reason"] = f"schema at {revision or 'none'}, expected {head}: run `dts migrate`"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
