"""SNMPv3 against Debian's snmpd started by the test: authPriv with several protocols, two
agents with the same user name and different keys polled at once (one engine per credential
set), a wrong password ending in reason=auth, and no secret in logs or metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from netwatch.base.errors import SnmpAuthError
from netwatch.base.exposition import MetricStore
from netwatch.config.model import AuthConfig
from netwatch.lab.agents import Agent, AgentSet, V3User, snmpd_available
from netwatch.snmp.prober import SnmpProber, adhoc_target
from netwatch.snmp.result import SnmpResult
from tests.conftest import require

pytestmark = pytest.mark.integration

USERS = [V3User("noc", "auth-key-one", "priv-key-one"),
         V3User("strong", "auth-key-strong", "priv-key-strong", "SHA-512", "AES-256"),
         V3User("signonly", "auth-key-sign", None, "SHA-256")]
OTHER = V3User("noc", "auth-key-two", "priv-key-two")  # same name, other keys


@pytest.fixture(scope="module")
def agents() -> Iterator[tuple[Agent, Agent]]:
    require(snmpd_available())
    with AgentSet() as agent_set:
        yield (agent_set.snmpd("127.3.3.1", users=USERS),
               agent_set.snmpd("127.3.3.2", users=[OTHER]))


def v3(user: V3User, auth_protocol: str = "SHA", priv_protocol: str | None = "AES",
       auth_password: str | None = None) -> AuthConfig:
    fields: dict[str, object] = {
        "version": "3", "username": user.name, "auth_protocol": auth_protocol,
        "auth_password": auth_password or user.auth_password,
        "security_level": "authPriv" if priv_protocol else "authNoPriv"}
    if priv_protocol:
        fields |= {"priv_protocol": priv_protocol, "priv_password": user.priv_password}
    return AuthConfig.model_validate(fields)


async def poll(prober: SnmpProber, agent: Agent, auth: AuthConfig, name: str) -> SnmpResult:
    target = adhoc_target(agent.address, auth, port=agent.port, timeout=1.0, retries=1, name=name)
    return await prober.poll(target)


@pytest.mark.parametrize(("user", "auth_protocol", "priv_protocol"), [
    (USERS[0], "SHA", "AES"), (USERS[1], "SHA512", "AES256"), (USERS[2], "SHA256", None)])
async def test_v3_security_levels_and_protocols(
        snmp_prober: SnmpProber, agents: tuple[Agent, Agent], user: V3User, auth_protocol: str,
        priv_protocol: str | None) -> None:
    result = await poll(snmp_prober, agents[0], v3(user, auth_protocol, priv_protocol), user.name)
    assert result.ok and result.profile == "linux"  # net-snmp on Linux
    names = {labels for name, labels, _ in result.samples if name == "netwatch_interface_oper_up"}
    assert 'ifname="lo"' in names
    assert any(name == "netwatch_device_boot_time_seconds" for name, _, _ in result.samples)


async def test_same_user_name_different_keys_polled_at_once(snmp_prober: SnmpProber,
                                                            agents: tuple[Agent, Agent]) -> None:
    one, two = v3(USERS[0]), v3(OTHER)
    for _ in range(3):
        results = await asyncio.gather(poll(snmp_prober, agents[0], one, "one"),
                                       poll(snmp_prober, agents[1], two, "two"))
        assert [r.ok for r in results] == [True, True]


async def test_wrong_password_is_auth_and_secrets_stay_hidden(
        snmp_prober: SnmpProber, agents: tuple[Agent, Agent]) -> None:
    wrong = v3(USERS[0], auth_password="not-the-key")
    store = MetricStore()
    with capture_logs() as logs:
        with pytest.raises(SnmpAuthError, match=r"^SNMPv3: Wrong SNMP PDU digest$"):
            await poll(snmp_prober, agents[0], wrong, "wrong")
        good = await poll(snmp_prober, agents[0], v3(USERS[0]), "good")
    target = adhoc_target(agents[0].address, v3(USERS[0]), port=agents[0].port)
    series = snmp_prober.series(target, 'site="x"', store)
    series.apply(good)
    for family, text in series.render():
        store.set(family, "x", text)
    visible = repr(logs) + store.render().decode() + repr(wrong) + str(wrong.auth_password)
    secrets = [u.auth_password for u in USERS] + [u.priv_password for u in USERS if u.priv_password]
    assert not [secret for secret in [*secrets, "not-the-key"] if secret in visible]
