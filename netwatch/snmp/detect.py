"""`profile: auto`: choose a profile from sysObjectID, sysDescr and vendor subtrees.

Profiles are tried by priority (highest first, then by name); a profile matches when any of
its `detect` rules holds. Subtree rules cost one GETNEXT for all of them together, made only
when a rule needs it: Ubiquiti devices report a plain Linux sysObjectID, so only a look into
their enterprise subtree tells airOS, UniFi and a Linux server apart. No match: `generic`.
"""

from __future__ import annotations

import re

from netwatch.snmp.client import PduError, SnmpClient, first_below
from netwatch.snmp.oid import Oid, in_subtree
from netwatch.snmp.profile import DetectRule, Profile

FALLBACK = "generic"


def rule_matches(rule: DetectRule, sys_object_id: Oid | None, sys_descr: str,
                 found: dict[Oid, bool]) -> bool:
    """`found` says which subtrees hold something (every rule's subtree must be in it)."""
    if rule.sys_object_id is not None and (
            sys_object_id is None or not (sys_object_id == rule.sys_object_id
                                          or in_subtree(sys_object_id, rule.sys_object_id))):
        return False
    if rule.sys_descr is not None and not re.search(rule.sys_descr, sys_descr):
        return False
    return rule.subtree is None or found.get(rule.subtree, False)


def by_priority(profiles: dict[str, Profile]) -> list[Profile]:
    return sorted(profiles.values(), key=lambda p: (-p.priority, p.name))


async def _probe(client: SnmpClient, roots: list[Oid]) -> dict[Oid, bool]:
    try:
        return {root: hit is not None for root, hit in (await first_below(client, roots)).items()}
    except PduError:  # v1 agents fail the whole GETNEXT past the end of their MIB
        found = {}
        for root in roots:
            try:
                found[root] = (await first_below(client, [root]))[root] is not None
            except PduError:
                found[root] = False
        return found


async def detect(client: SnmpClient, profiles: dict[str, Profile], sys_object_id: Oid | None,
                 sys_descr: str) -> Profile:
    ordered = by_priority(profiles)
    roots = list(dict.fromkeys(r.subtree for p in ordered for r in p.detect if r.subtree))
    found: dict[Oid, bool] | None = None
    for profile in ordered:
        for rule in profile.detect:
            if rule.subtree is not None and found is None:
                quick = DetectRule(sys_object_id=rule.sys_object_id, sys_descr=rule.sys_descr,
                                   subtree=None) if rule.sys_object_id or rule.sys_descr else None
                if quick is not None and not rule_matches(quick, sys_object_id, sys_descr, {}):
                    continue  # the cheap conditions already fail: no need to look
                found = await _probe(client, roots)
            if rule_matches(rule, sys_object_id, sys_descr, found or {}):
                return profile
    return profiles[FALLBACK]
