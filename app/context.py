"""The services one API process shares between its interfaces (GraphQL, REST, CLI-free).

Built once in the server's lifespan and kept on `app.state.services`. GraphQL resolvers
and REST routes call these; no business rule lives in an interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.config import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.feed.hub import FeedHub
from app.services.auth import AuthService
from app.services.jobs import JobService
from app.services.mail import Mailer
from app.services.runs import RunService
from app.services.secrets import SecretBox

Clock = Callable[[], datetime]


@dataclass
class Services:
    settings: Settings
    db: Database
    auth: AuthService
    jobs: JobService
    runs: RunService
    mailer: Mailer
    feed: FeedHub
    clock: Clock = utcnow
    wake_workers: asyncio.Event = field(default_factory=asyncio.Event)
    wake_scheduler: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, settings: Settings, db: Database, *, clock: Clock = utcnow) -> Services:
        wake = asyncio.Event()
        wake_scheduler = asyncio.Event()
        mailer = Mailer(settings)
        return cls(
            settings=settings,
            db=db,
            auth=AuthService(db, settings, mailer=mailer, clock=clock),
            jobs=JobService(
                db,
                SecretBox(settings),
                script_root=settings.script_root,
                allow_private=settings.http_allow_private,
                clock=clock,
                on_scheduled=wake_scheduler.set,
            ),
            runs=RunService(db, clock=clock, on_queued=wake.set),
            mailer=mailer,
            feed=FeedHub(db),
            clock=clock,
            wake_workers=wake,
            wake_scheduler=wake_scheduler,
        )

    async def start(self) -> None:
        await self.feed.start()

    async def close(self) -> None:
        await self.feed.stop()
        await self.mailer.drain()
