"""The alerting API through a live `dts up`: GraphQL and its REST mirror, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.db.engine import Database
from app.services import alerts
from tests.alerting import Receiver
from tests.gql_client import GQL
from tests.graphql.conftest import sign_up
from tests.live import LiveServer

CREATE_CHANNEL = """mutation($input: AlertChannelInput!) {
  createAlertChannel(input: $input) { signingSecret channel { id name kind url address } }
}"""
CREATE_JOB = """mutation($input: JobInput!) { createJob(input: $input) { id } }"""
SET_RULES = """mutation($jobId: ID!, $rules: AlertRulesInput) {
  setJobAlertRules(jobId: $jobId, rules: $rules) { channelIds failureThreshold onRecovery }
}"""


async def _yearly_job(client: GQL, name: str) -> str:
    """An HTTP job of `client`'s that runs once a year (so never during the test); its id."""
    job_input = {
        "name": name,
        "type": "HTTP",
        "schedule": {"cron": "0 0 1 1 *", "timezone": "UTC"},
        "http": {"method": "GET", "url": "https://example.com/x"},
    }
    job_id: str = (await client(CREATE_JOB, input=job_input))["createJob"]["id"]
    return job_id


async def _errors(client: GQL, query: str, **variables: Any) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {client.token}"} if client.token else {}
    response = await client.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code < 500, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_channels_rules_and_incidents_over_graphql_and_rest(server: LiveServer) -> None:
    receiver = Receiver()
    await receiver.start()
    ada = await sign_up(server, "ada@example.com")
    bob = await sign_up(server, "bob@example.com")
    try:
        created = (
            await ada(
                CREATE_CHANNEL,
                input={"name": "ops", "kind": "WEBHOOK", "url": receiver.url("/hook?k=secret")},
            )
        )["createAlertChannel"]
        secret = created["signingSecret"]
        channel = created["channel"]
        assert secret and secret.startswith("whsec_")
        assert channel["url"] == "http://127.0.0.1/…"  # masked: the query string is secret

        listed = (await ada("{ alertChannels { id url } }"))["alertChannels"]
        assert listed == [{"id": channel["id"], "url": "http://127.0.0.1/…"}]
        assert (await bob("{ alertChannels { id } }"))["alertChannels"] == []

        result = (
            await ada(
                "mutation($id: ID!) { sendTestNotification(channelId: $id) { ok error } }",
                id=channel["id"],
            )
        )["sendTestNotification"]
        assert result == {"ok": True, "error": None}
        [delivery] = receiver.deliveries
        assert delivery.json["event"] == "test" and delivery.signed_with(secret)

        job_id = await _yearly_job(ada, "export")
        rules = (
            await ada(
                SET_RULES,
                jobId=job_id,
                rules={"channelIds": [channel["id"]], "failureThreshold": 3},
            )
        )["setJobAlertRules"]
        assert rules == {"channelIds": [channel["id"]], "failureThreshold": 3, "onRecovery": True}

        # Bad input names the field; someone else's job is not found; nothing is a 500.
        [error] = await _errors(
            ada, SET_RULES, jobId=job_id, rules={"channelIds": [], "failureThreshold": 0}
        )
        assert error["extensions"]["field"].endswith("failureThreshold"), error
        [error] = await _errors(bob, SET_RULES, jobId=job_id, rules={"channelIds": []})
        assert "not found" in error["message"]
        [error] = await _errors(
            bob,
            SET_RULES,
            jobId=await _yearly_job(bob, "mine"),
            rules={"channelIds": [channel["id"]]},
        )
        assert error["extensions"]["field"].endswith("channelIds"), error  # not bob's channel
        [error] = await _errors(
            ada, CREATE_CHANNEL, input={"name": "x", "kind": "EMAIL", "address": "nope"}
        )
        assert error["extensions"]["field"].endswith("address"), error
        [error] = await _errors(
            ada, CREATE_CHANNEL, input={"name": "x", "kind": "SLACK", "url": "ftp://x"}
        )
        assert error["extensions"]["field"].endswith("url"), error

        query = "query($id: ID!) { incidents(jobId: $id) { edges { node { id } } } }"
        assert (await ada(query, id=job_id))["incidents"] == {"edges": []}

        # The REST mirror: the same data, the same checks.
        auth = {"Authorization": f"Bearer {ada.token}"}
        http = ada.http
        got = await http.get(f"/api/alerts/jobs/{job_id}/rules", headers=auth)
        assert got.status_code == 200 and got.json()["rules"]["failureThreshold"] == 3
        put = await http.put(
            "/api/alerts/defaults", headers=auth, json={"channelIds": [int(channel["id"])]}
        )
        assert put.status_code == 200 and put.json()["rules"]["onFailure"] is True
        bad = await http.put("/api/alerts/defaults", headers=auth, json={"channelIds": "1"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "channelIds", bad.text
        made = await http.post(
            "/api/alerts/channels",
            headers=auth,
            json={"name": "me", "kind": "email", "address": "ada@example.com"},
        )
        assert made.status_code == 201 and made.json()["signingSecret"] is None
        items = (await http.get("/api/alerts/channels", headers=auth)).json()["items"]
        assert [c["kind"] for c in items] == ["webhook", "email"]
        assert "secret" not in str(items)
        incidents = await http.get(f"/api/alerts/jobs/{job_id}/incidents", headers=auth)
        assert incidents.status_code == 200 and incidents.json() == {"items": []}
        gone = await http.delete(
            f"/api/alerts/channels/{made.json()['channel']['id']}", headers=auth
        )
        assert gone.status_code == 204
        other = await bob.http.delete(
            f"/api/alerts/channels/{channel['id']}",
            headers={"Authorization": f"Bearer {bob.token}"},
        )
        assert other.status_code == 404
        # Deleting a channel takes it out of the rules that named it.
        deleted = await ada("mutation($id: ID!) { deleteAlertChannel(id: $id) }", id=channel["id"])
        assert deleted == {"deleteAlertChannel": True}
        rules = await http.get(f"/api/alerts/jobs/{job_id}/rules", headers=auth)
        assert rules.json()["rules"]["channelIds"] == []
        defaults = await http.get("/api/alerts/defaults", headers=auth)
        assert defaults.json()["rules"]["channelIds"] == []
    finally:
        await receiver.stop()
        await ada.close()
        await bob.close()


INCIDENTS = """query($jobId: ID, $monitorId: ID, $subject: IncidentSubject,
                     $status: IncidentStatus, $first: Int! = 50, $after: String) {
  incidents(jobId: $jobId, monitorId: $monitorId, subject: $subject, status: $status,
            first: $first, after: $after) {
    edges { cursor node { id subject subjectId name status kind failures } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def _report(
    db: Database, subject: str, subject_id: int, owner: int, kind: str, n: int
) -> None:
    async with db.transaction() as session:
        await alerts.report(
            session,
            subject=subject,  # type: ignore[arg-type]
            subject_id=subject_id,
            owner_id=owner,
            kind=kind,
            occurrence_key=f"test:{n}",
            summary=f"occurrence {n}: {kind}",
            at=datetime(2026, 12, 1, 9, n, tzinfo=UTC),
            name=f"{subject} {subject_id}",
        )


async def _incidents(client: GQL, **variables: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    page = (await client(INCIDENTS, **variables))["incidents"]
    return [e["node"] for e in page["edges"]], page["pageInfo"]


async def test_incidents_across_jobs_and_monitors(server: LiveServer, db: Database) -> None:
    ada = await sign_up(server, "ada@example.com")  # the first account: admin
    bob = await sign_up(server, "bob@example.com")
    eve = await sign_up(server, "eve@example.com")
    try:
        ids = {}
        for name, client in (("bob", bob), ("eve", eve)):
            ids[name] = int((await client("{ me { id } }"))["me"]["id"])
            await client("mutation { setDefaultAlertRules(rules: {channelIds: []}) { onFailure } }")
        job_input = {
            "name": "export",
            "type": "HTTP",
            "schedule": {"cron": "0 0 1 1 *", "timezone": "UTC"},
            "http": {"method": "GET", "url": "https://example.com/x"},
        }
        job = int((await bob(CREATE_JOB, input=job_input))["createJob"]["id"])
        eves_job = int((await eve(CREATE_JOB, input=job_input))["createJob"]["id"])
        monitor = int(
            (
                await bob(
                    'mutation { createMonitor(input: {name: "backup", periodSeconds: 3600})'
                    " { id } }"
                )
            )["createMonitor"]["id"]
        )
        await _report(db, "job", job, ids["bob"], "failed", 1)  # incident 1 opens…
        await _report(db, "job", job, ids["bob"], "succeeded", 2)  # …and is resolved
        await _report(db, "job", job, ids["bob"], "timed_out", 3)  # incident 2, open
        await _report(db, "monitor", monitor, ids["bob"], "down", 4)  # incident 3, open
        await _report(db, "job", eves_job, ids["eve"], "failed", 5)  # eve's, open

        mine, page = await _incidents(bob)
        assert [(i["subject"], int(i["subjectId"]), i["status"]) for i in mine] == [
            ("monitor", monitor, "open"),
            ("job", job, "open"),
            ("job", job, "resolved"),
        ]
        assert mine[0]["name"] == f"monitor {monitor}" and mine[1]["kind"] == "timed_out"
        assert page == {"hasNextPage": False, "endCursor": mine[-1]["id"]}
        assert len((await _incidents(ada))[0]) == 4  # an admin sees everyone's
        assert [i["subject"] for i in (await _incidents(bob, status="OPEN"))[0]] == [
            "monitor",
            "job",
        ]
        assert [i["status"] for i in (await _incidents(bob, subject="JOB"))[0]] == [
            "open",
            "resolved",
        ]
        assert (await _incidents(bob, monitorId=str(monitor)))[0] == mine[:1]
        assert (await _incidents(bob, jobId=str(job), status="RESOLVED"))[0] == mine[2:]
        # Pages: newest first, the cursor continues where the last page ended.
        first, page = await _incidents(bob, first=2)
        assert first == mine[:2] and page["hasNextPage"] is True
        rest, page = await _incidents(bob, first=2, after=page["endCursor"])
        assert rest == mine[2:] and page["hasNextPage"] is False

        # Someone else's subject is not found; bad filters name their field.
        [error] = await _errors(eve, INCIDENTS, jobId=str(job))
        assert "not found" in error["message"] and error["extensions"]["field"] == "jobId"
        [error] = await _errors(eve, INCIDENTS, monitorId=str(monitor))
        assert "not found" in error["message"] and error["extensions"]["field"] == "monitorId"
        [error] = await _errors(bob, INCIDENTS, jobId=str(job), monitorId=str(monitor))
        assert error["extensions"]["field"] == "monitorId"
        [error] = await _errors(bob, INCIDENTS, jobId=str(job), subject="MONITOR")
        assert error["extensions"]["field"] == "subject"
        [error] = await _errors(bob, INCIDENTS, first=0)
        assert error["extensions"]["field"] == "first"

        # REST: the same list, filters and pages.
        auth = {"Authorization": f"Bearer {bob.token}"}
        got = await bob.http.get("/api/alerts/incidents?status=open&limit=1", headers=auth)
        assert got.status_code == 200, got.text
        body = got.json()
        assert [i["subject"] for i in body["items"]] == ["monitor"] and body["nextCursor"]
        more = await bob.http.get(
            f"/api/alerts/incidents?status=open&limit=1&cursor={body['nextCursor']}", headers=auth
        )
        assert [i["subjectId"] for i in more.json()["items"]] == [job]
        assert more.json()["nextCursor"] is None
        listed = await bob.http.get(f"/api/alerts/incidents?monitorId={monitor}", headers=auth)
        assert [i["name"] for i in listed.json()["items"]] == [f"monitor {monitor}"]
        bad = await bob.http.get("/api/alerts/incidents?subject=cron", headers=auth)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "subject", bad.text
        hidden = await eve.http.get(
            f"/api/alerts/incidents?jobId={job}",
            headers={"Authorization": f"Bearer {eve.token}"},
        )
        assert hidden.status_code == 404, hidden.text
    finally:
        await ada.close()
        await bob.close()
        await eve.close()
