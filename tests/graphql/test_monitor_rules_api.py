"""A monitor's own alert rules through a live `dts up`: GraphQL and its REST mirror, who may
read and set them, and that a monitor with its own rule notifies its own channel rather
than the defaults' (a real webhook receiver on loopback); both engines."""

from __future__ import annotations

import asyncio
import time

from tests.alerting import Receiver
from tests.gql_client import GQL
from tests.graphql.conftest import sign_up
from tests.graphql.test_alerts_api import CREATE_CHANNEL, _errors
from tests.live import LiveServer

SET_RULES = """mutation($monitorId: ID!, $rules: AlertRulesInput) {
  setMonitorAlertRules(monitorId: $monitorId, rules: $rules) {
    channelIds failureThreshold onFailure onRecovery remindEveryHours
  }
}"""
GET_RULES = """query($monitorId: ID!) {
  monitorAlertRules(monitorId: $monitorId) {
    channelIds failureThreshold onFailure onRecovery remindEveryHours
  }
}"""
CREATE_MONITOR = """mutation { createMonitor(input: {name: "backup", periodSeconds: 3600})
  { id pingUrl } }"""


async def _channel(client: GQL, name: str, url: str) -> str:
    created = await client(CREATE_CHANNEL, input={"name": name, "kind": "WEBHOOK", "url": url})
    channel_id: str = created["createAlertChannel"]["channel"]["id"]
    return channel_id


async def _until_delivered(receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(receiver.deliveries) < count:
        assert time.monotonic() < deadline, f"{len(receiver.deliveries)} deliveries"
        await asyncio.sleep(0.05)


async def test_monitor_rules_over_graphql_and_rest(server: LiveServer) -> None:
    receiver = Receiver()
    await receiver.start()
    ada = await sign_up(server, "ada@example.com")  # the first account: admin
    bob = await sign_up(server, "bob@example.com")
    eve = await sign_up(server, "eve@example.com")
    try:
        defaults = await _channel(bob, "defaults", receiver.url("/defaults"))
        own = await _channel(bob, "own", receiver.url("/own"))
        eves = await _channel(eve, "eve's", receiver.url("/eve"))
        await bob(
            "mutation($c: [ID!]!) { setDefaultAlertRules(rules: {channelIds: $c}) { onFailure } }",
            c=[defaults],
        )
        monitor = (await bob(CREATE_MONITOR))["createMonitor"]
        monitor_id = monitor["id"]
        assert (await bob(GET_RULES, monitorId=monitor_id)) == {"monitorAlertRules": None}

        rules = {"channelIds": [own], "onRecovery": False, "remindEveryHours": 2}
        stored = (await bob(SET_RULES, monitorId=monitor_id, rules=rules))["setMonitorAlertRules"]
        expected = {
            "channelIds": [own],
            "failureThreshold": 1,
            "onFailure": True,
            "onRecovery": False,
            "remindEveryHours": 2.0,
        }
        assert stored == expected
        assert (await bob(GET_RULES, monitorId=monitor_id))["monitorAlertRules"] == expected
        assert (await ada(GET_RULES, monitorId=monitor_id))["monitorAlertRules"] == expected

        # Another member neither reads nor sets them: "not found", naming the field.
        for query, variables in (
            (GET_RULES, {}),
            (SET_RULES, {"rules": {"channelIds": []}}),
            (SET_RULES, {"rules": None}),
        ):
            [error] = await _errors(eve, query, monitorId=monitor_id, **variables)
            assert "monitor not found" in error["message"], error
            assert error["extensions"]["field"] == "monitorId", error
        [error] = await _errors(bob, GET_RULES, monitorId="999999")
        assert error["extensions"]["field"] == "monitorId", error
        # The job rules' checks: channels must be yours (or shared), bounds name their field.
        [error] = await _errors(bob, SET_RULES, monitorId=monitor_id, rules={"channelIds": [eves]})
        assert error["extensions"]["field"].endswith("channelIds"), error
        [error] = await _errors(
            bob, SET_RULES, monitorId=monitor_id, rules={"channelIds": [], "remindEveryHours": 0}
        )
        assert error["extensions"]["field"].endswith("remindEveryHours"), error

        # The REST mirror: the same rules, the same checks.
        bob_auth = {"Authorization": f"Bearer {bob.token}"}
        eve_auth = {"Authorization": f"Bearer {eve.token}"}
        path = f"/api/alerts/monitors/{monitor_id}/rules"
        got = await bob.http.get(path, headers=bob_auth)
        assert got.status_code == 200, got.text
        assert got.json()["rules"]["channelIds"] == [int(own)]
        assert got.json()["rules"]["onRecovery"] is False
        for method in ("GET", "PUT", "DELETE"):
            hidden = await eve.http.request(method, path, headers=eve_auth, json={"channelIds": []})
            assert hidden.status_code == 404, hidden.text
            assert hidden.json()["error"]["field"] == "monitorId", hidden.text
        bad = await bob.http.put(path, headers=bob_auth, json={"channelIds": [int(eves)]})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "channelIds", bad.text
        bad = await bob.http.put(path, headers=bob_auth, json={"channelIds": [], "onLost": 1})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "onLost", bad.text
        assert (await bob.http.get(path, headers=eve_auth)).status_code == 404
        # DELETE removes them (the defaults apply); PUT sets them again.
        assert (await bob.http.delete(path, headers=bob_auth)).status_code == 204
        assert (await bob.http.get(path, headers=bob_auth)).json() == {"rules": None}
        assert (await bob(GET_RULES, monitorId=monitor_id)) == {"monitorAlertRules": None}
        put = await bob.http.put(
            path, headers=bob_auth, json={"channelIds": [int(own)], "onRecovery": False}
        )
        assert put.status_code == 200 and put.json()["rules"]["channelIds"] == [int(own)]

        # A failing run reported by ping: the monitor's own channel hears of it, not the
        # defaults' channel.
        ping = "/ping/" + monitor["pingUrl"].rsplit("/ping/", 1)[1]
        assert (await bob.http.post(f"{ping}/0")).status_code == 200
        assert (await bob.http.post(f"{ping}/1")).status_code == 200
        await _until_delivered(receiver, 1)
        await asyncio.sleep(0.5)  # time enough for a stray notice to the defaults to arrive
        assert [d.path for d in receiver.deliveries] == ["/own"]
        assert "backup" in receiver.deliveries[0].json["title"]
        incidents = await bob.http.get(
            f"/api/alerts/incidents?monitorId={monitor_id}", headers=bob_auth
        )
        [incident] = incidents.json()["items"]
        assert incident["status"] == "open" and incident["subject"] == "monitor"

        # Without its own rules, the defaults apply again: the good ping's recovery notice
        # goes to the defaults' channel (the own rule did not want one).
        assert (await bob(SET_RULES, monitorId=monitor_id, rules=None)) == {
            "setMonitorAlertRules": None
        }
        assert (await bob.http.post(f"{ping}/0")).status_code == 200
        await _until_delivered(receiver, 2)
        assert [d.path for d in receiver.deliveries] == ["/own", "/defaults"]
    finally:
        await receiver.stop()
        await ada.close()
        await bob.close()
        await eve.close()
