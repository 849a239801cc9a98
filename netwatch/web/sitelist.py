"""/api/v1/sites, built once per change and served from memory.

Built from scratch for 2,650 sites the answer (~500 kB of JSON) took ~12 ms and allocated a
few hundred thousand objects, which set off garbage collections inside the request (worst
cases 50-70 ms). Now:
- each site's entry is kept as JSON text with the facts it was made from (its definition,
  state, cause, since, flap count and marker, reboot time); it is made again only when one of those
  changed, also across a reload (only the sites the reload changed are made again);
- the list of entries is joined again only when something may have changed: a site's state
  or cause (SiteEngine.version), a device's boot time (Readings.version), a reload (another
  Inventory), or the clock passing the moment a flap count drops or a reboot marker expires;
- every answer is that list inside a small head with its own `generated` time.
So a poll of the page costs a comparison and a copy of the bytes, a poll after a change the
facts of every site and the entries that changed; only the first answer after a start makes
every entry (bench/screen.py has the figures).
"""

from __future__ import annotations

import json

from netwatch.inventory.model import Inventory
from netwatch.web.views import API_VERSION, Screen, iso, markers, refresh_seconds, site_entry

_Facts = tuple[object, ...]


# one encoder for every entry: json.dumps() with options makes a new one per call (+30 %)
_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SiteList:
    def __init__(self) -> None:
        self._inventory: Inventory | None = None
        self._entries: dict[str, tuple[_Facts, str]] = {}
        self._versions: tuple[int, int] = (-1, -1)
        self._valid_until = 0.0
        self._sites = b"[]"
        self._refresh = 15.0
        self.builds = 0  # how often the list was joined (tests, the bench)

    def answer(self, screen: Screen, now: float) -> bytes:
        """The whole /api/v1/sites body at `now`."""
        inventory = screen.inventory
        versions = (screen.sites.version, screen.readings.version)
        if inventory is not self._inventory:  # a reload: entries of unchanged sites stay
            self._inventory = inventory
            self._refresh = refresh_seconds(inventory)
            self._valid_until = 0.0
        if versions != self._versions or now >= self._valid_until:
            self._versions = versions
            self._build(screen, now)
        head = _json({"version": API_VERSION, "generated": iso(now),
                      "timezone": inventory.timezone, "refresh_seconds": self._refresh})
        return b"".join((head[:-1].encode(), b',"sites":', self._sites, b"}"))

    def _build(self, screen: Screen, now: float) -> None:
        inventory, groups, readings = screen.inventory, screen.sites.groups, screen.readings
        flap_window, flap_changes, reboot_window = markers(inventory)
        changes, oldest = screen.history.changes_since(now - flap_window)
        valid_until = oldest + flap_window if oldest is not None else float("inf")
        entries, parts = {}, []
        for site in inventory.sites.values():
            group = groups.get(site.id)
            rebooted = None
            for device in site.devices:
                boot = readings.boot_time((site.id, device))
                if boot is not None and now - boot < reboot_window:
                    rebooted = boot if rebooted is None else max(rebooted, boot)
                    valid_until = min(valid_until, boot + reboot_window)
            count = changes.get(site.id, 0)
            # as NetwatchSiteFlapping: the transitions a reboot explains are not flapping
            explained = group.explained_since(now - flap_window) if group else 0
            flapping = count - explained >= flap_changes
            # the Site compares by identity until a reload brings equal new ones
            facts: _Facts = (site, (group.state, group.cause, group.since,
                                     group.why.name if group.why else None) if group else None,
                             count, flapping, rebooted)
            known = self._entries.get(site.id)
            if known is None or known[0] != facts:
                known = (facts, _json(site_entry(site, group, count, flapping, rebooted)))
            entries[site.id] = known
            parts.append(known[1])
        self._entries = entries
        self._valid_until = valid_until
        self._sites = ("[" + ",".join(parts) + "]").encode()
        self.builds += 1
