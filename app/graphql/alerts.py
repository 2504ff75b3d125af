"""GraphQL for alerting: channels, rules (per job and the caller's defaults), incidents."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from app.db import models
from app.graphql.context import Context
from app.graphql.types import PageInfo, decode_cursor, encode_cursor, gid
from app.services import alerts, channels
from app.services.secrets import SecretBox


@strawberry.enum
class ChannelKind(Enum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"


@strawberry.type
class AlertChannel:
    id: strawberry.ID
    name: str
    kind: ChannelKind
    shared: bool
    owner_id: strawberry.ID
    address: str | None = strawberry.field(description="E-mail channels: the recipient.")
    url: str | None = strawberry.field(
        description="Webhook and Slack channels: the URL, masked (scheme and host only)."
    )
    created_at: datetime

    @classmethod
    def of(cls, channel: models.AlertChannel) -> AlertChannel:
        return cls(
            id=strawberry.ID(str(channel.id)),
            name=channel.name,
            kind=ChannelKind(channel.kind),
            shared=channel.shared,
            owner_id=strawberry.ID(str(channel.owner_id)),
            address=channels.public_config(channel).get("address"),
            url=channels.public_config(channel).get("url"),
            created_at=channel.created_at,
        )


@strawberry.type
class CreatedAlertChannel:
    channel: AlertChannel
    signing_secret: str | None = strawberry.field(
        description="Webhooks: the HMAC secret for X-Dts-Signature. Shown once, store it now."
    )


@strawberry.type
class TestNotificationResult:
    ok: bool
    error: str | None


@strawberry.input
class AlertChannelInput:
    name: str
    kind: ChannelKind
    address: str | None = strawberry.field(default=None, description="E-mail channels.")
    url: str | None = strawberry.field(default=None, description="Webhook and Slack channels.")
    shared: bool = strawberry.field(default=False, description="Admins: usable by everyone.")


@strawberry.type
class AlertRules:
    channel_ids: list[strawberry.ID]
    on_failure: bool
    failure_threshold: int
    on_timed_out: bool
    on_lost: bool
    on_missed: bool
    on_skipped: bool
    on_recovery: bool
    remind_every_hours: float | None

    @classmethod
    def of(cls, rule: models.AlertRule) -> AlertRules:
        return cls(
            channel_ids=[strawberry.ID(str(i)) for i in rule.channel_ids],
            on_failure=rule.on_failure,
            failure_threshold=rule.failure_threshold,
            on_timed_out=rule.on_timed_out,
            on_lost=rule.on_lost,
            on_missed=rule.on_missed,
            on_skipped=rule.on_skipped,
            on_recovery=rule.on_recovery,
            remind_every_hours=rule.remind_every_hours,
        )


@strawberry.input
class AlertRulesInput:
    channel_ids: list[strawberry.ID]
    on_failure: bool = True
    failure_threshold: int = strawberry.field(
        default=1, description="Open an incident after this many failed occurrences in a row."
    )
    on_timed_out: bool = True
    on_lost: bool = True
    on_missed: bool = False
    on_skipped: bool = False
    on_recovery: bool = True
    remind_every_hours: float | None = None

    def to_rule(self) -> alerts.RuleInput:
        return alerts.RuleInput(
            channel_ids=[gid(i, "channelIds") for i in self.channel_ids],
            on_failure=self.on_failure,
            failure_threshold=self.failure_threshold,
            on_timed_out=self.on_timed_out,
            on_lost=self.on_lost,
            on_missed=self.on_missed,
            on_skipped=self.on_skipped,
            on_recovery=self.on_recovery,
            remind_every_hours=self.remind_every_hours,
        )


@strawberry.enum
class IncidentStatus(Enum):
    OPEN = "open"
    RESOLVED = "resolved"


@strawberry.enum
class IncidentSubject(Enum):
    JOB = "job"
    MONITOR = "monitor"


@strawberry.type
class Incident:
    id: strawberry.ID
    subject: str = strawberry.field(description="job or monitor")
    subject_id: strawberry.ID
    name: str = strawberry.field(description="The job's or monitor's name when it opened.")
    kind: str
    status: str
    summary: str
    failures: int
    opened_at: datetime
    last_failure_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, incident: models.Incident) -> Incident:
        return cls(
            id=strawberry.ID(str(incident.id)),
            subject=incident.subject,
            subject_id=strawberry.ID(str(incident.subject_id)),
            name=incident.name,
            kind=incident.kind,
            status=incident.status,
            summary=incident.summary,
            failures=incident.failures,
            opened_at=incident.opened_at,
            last_failure_at=incident.last_failure_at,
            resolved_at=incident.resolved_at,
        )


@strawberry.type
class IncidentEdge:
    cursor: str
    node: Incident


@strawberry.type
class IncidentConnection:
    edges: list[IncidentEdge]
    page_info: PageInfo


def channel_config(data: AlertChannelInput) -> dict[str, Any]:
    if data.kind is ChannelKind.EMAIL:
        return {"address": data.address}
    return {"url": data.url}


async def own_rules(info: Info[Context, None], subject: str, subject_id: int) -> AlertRules | None:
    """A job's or monitor's own rule (None: the owner's defaults apply)."""
    ctx = info.context
    rule = await alerts.subject_rules(ctx.services.db, await ctx.require(), subject, subject_id)
    return AlertRules.of(rule) if rule else None


async def set_own_rules(
    info: Info[Context, None], subject: str, subject_id: int, rules: AlertRulesInput | None
) -> AlertRules | None:
    """Set (or, for None, remove) a job's or monitor's own rule."""
    ctx = info.context
    principal = await ctx.require()
    if rules is None:
        await alerts.clear_subject_rules(ctx.services.db, principal, subject, subject_id)
        return None
    rule = await alerts.set_subject_rules(
        ctx.services.db, principal, subject, subject_id, rules.to_rule()
    )
    return AlertRules.of(rule)


@strawberry.type
class AlertQueries:
    @strawberry.field(description="Your notification channels and the shared ones.")
    async def alert_channels(self, info: Info[Context, None]) -> list[AlertChannel]:
        principal = await info.context.require()
        async with info.context.services.db.session() as session:
            found = await channels.list_channels(session, principal)
        return [AlertChannel.of(c) for c in found]

    @strawberry.field(description="A job's own alert rules (null: your defaults apply).")
    async def job_alert_rules(
        self, info: Info[Context, None], job_id: strawberry.ID
    ) -> AlertRules | None:
        return await own_rules(info, "job", gid(job_id, "jobId"))

    @strawberry.field(description="A monitor's own alert rules (null: your defaults apply).")
    async def monitor_alert_rules(
        self, info: Info[Context, None], monitor_id: strawberry.ID
    ) -> AlertRules | None:
        return await own_rules(info, "monitor", gid(monitor_id, "monitorId"))

    @strawberry.field(description="Your default alert rules, for jobs without their own.")
    async def default_alert_rules(self, info: Info[Context, None]) -> AlertRules | None:
        ctx = info.context
        rule = await alerts.default_rules(ctx.services.db, await ctx.require())
        return AlertRules.of(rule) if rule else None

    @strawberry.field(
        description="Incidents (failing streaks) of your jobs and monitors (everyone's for "
        "admins), newest first; jobId or monitorId narrows to one subject."
    )
    async def incidents(
        self,
        info: Info[Context, None],
        job_id: strawberry.ID | None = None,
        monitor_id: strawberry.ID | None = None,
        subject: IncidentSubject | None = None,
        status: IncidentStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> IncidentConnection:
        ctx = info.context
        wanted = alerts.IncidentFilter(
            status=status.value if status else None,
            subject=subject.value if subject else None,
            job_id=gid(job_id, "jobId") if job_id is not None else None,
            monitor_id=gid(monitor_id, "monitorId") if monitor_id is not None else None,
        )
        found, more = await alerts.find_incidents(
            ctx.services.db, await ctx.require(), wanted, first=first, after_id=decode_cursor(after)
        )
        edges = [IncidentEdge(cursor=encode_cursor(i.id), node=Incident.of(i)) for i in found]
        return IncidentConnection(
            edges=edges, page_info=PageInfo.after([e.cursor for e in edges], more)
        )


@strawberry.type
class AlertMutations:
    @strawberry.mutation(description="Create a notification channel.")
    async def create_alert_channel(
        self, info: Info[Context, None], input: AlertChannelInput
    ) -> CreatedAlertChannel:
        ctx = info.context
        principal = await ctx.require()
        async with ctx.services.db.transaction() as session:
            created = await channels.create_channel(
                session,
                SecretBox(ctx.services.settings),
                principal,
                name=input.name,
                kind=input.kind.value,
                config=channel_config(input),
                shared=input.shared,
                allow_private=ctx.services.settings.http_allow_private,
            )
            channel = AlertChannel.of(created.channel)
        return CreatedAlertChannel(channel=channel, signing_secret=created.signing_secret)

    @strawberry.mutation(description="Delete a channel (its undelivered notifications too).")
    async def delete_alert_channel(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        ctx = info.context
        principal = await ctx.require()
        async with ctx.services.db.transaction() as session:
            await channels.delete_channel(session, principal, gid(id))
        return True

    @strawberry.mutation(description="Send a test message to a channel now.")
    async def send_test_notification(
        self, info: Info[Context, None], channel_id: strawberry.ID
    ) -> TestNotificationResult:
        ctx = info.context
        result = await channels.send_test(
            ctx.services.db,
            ctx.services.settings,
            await ctx.require(),
            gid(channel_id, "channelId"),
            ctx.services.clock(),
        )
        return TestNotificationResult(ok=result.ok, error=result.error)

    @strawberry.mutation(description="Set a job's alert rules; null removes them (defaults apply).")
    async def set_job_alert_rules(
        self, info: Info[Context, None], job_id: strawberry.ID, rules: AlertRulesInput | None
    ) -> AlertRules | None:
        return await set_own_rules(info, "job", gid(job_id, "jobId"), rules)

    @strawberry.mutation(
        description="Set a monitor's alert rules; null removes them (defaults apply)."
    )
    async def set_monitor_alert_rules(
        self, info: Info[Context, None], monitor_id: strawberry.ID, rules: AlertRulesInput | None
    ) -> AlertRules | None:
        return await set_own_rules(info, "monitor", gid(monitor_id, "monitorId"), rules)

    @strawberry.mutation(description="Set your default alert rules (jobs without their own).")
    async def set_default_alert_rules(
        self, info: Info[Context, None], rules: AlertRulesInput
    ) -> AlertRules:
        ctx = info.context
        rule = await alerts.set_default_rules(ctx.services.db, await ctx.require(), rules.to_rule())
        return AlertRules.of(rule)
