"""The citizens' status page at `/public` (on the operators' listener and, with
`public_listen:`, alone on its own address, outside the operators' authentication).

Plain Bahasa Indonesia, rendered on the server (no script, nothing loaded from elsewhere):
availability per kecamatan and kelurahan for today, the last 7 and the last 90 days, computed
from the history by the definition of the SLA recording rules (netwatch.history.availability),
current incidents, and maintenance announcements. It shows no addresses, no device names, no
internal causes and no link to the operators' pages or /metrics.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from netwatch.history.availability import Totals, by_kecamatan, ratio
from netwatch.sites.maintenance import window_start
from netwatch.web.api import SCREEN
from netwatch.web.connections import MAX_BODY
from netwatch.web.pages import ICON
from netwatch.web.views import Screen

CACHE_SECONDS = 60.0  # availability over 90 days is worth computing once a minute
WINDOWS = (("today", "Hari ini"), ("7d", "7 hari"), ("90d", "90 hari"))
INCIDENT = {"down": "Layanan terputus", "unreachable": "Layanan terputus",
            "degraded": "Layanan lambat atau tidak stabil"}
DAYS_ID = {"mon": "Senin", "tue": "Selasa", "wed": "Rabu", "thu": "Kamis", "fri": "Jumat",
           "sat": "Sabtu", "sun": "Minggu"}


@dataclass
class Availability:
    at: float
    sites: dict[str, dict[str, Totals]]  # window -> site -> totals
    kecamatan_of: dict[str, str]  # every site in the history, also those no longer configured


_cache: dict[int, Availability] = {}


def window_starts(now: float, tz: ZoneInfo) -> dict[str, float]:
    local = datetime.fromtimestamp(now, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"today": midnight.timestamp(), "7d": now - 7 * 86400, "90d": now - 90 * 86400}


async def availability(screen: Screen, now: float) -> Availability:
    cached = _cache.get(id(screen))
    if cached is not None and now - cached.at < CACHE_SECONDS:
        return cached
    starts = window_starts(now, ZoneInfo(screen.inventory.timezone))
    fresh = Availability(now, {name: await screen.history.site_seconds(start, now)
                               for name, start in starts.items()},
                         await screen.history.kecamatan_of()
                         | {s.id: s.kecamatan for s in screen.inventory.sites.values()})
    _cache[id(screen)] = fresh
    return fresh


def percent(totals: Totals | None) -> str:
    value = ratio(*totals) if totals is not None else None
    if value is None:
        return "–"
    return f"{value * 100:.2f}".replace(".", ",") + " %"


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d-%m-%Y %H:%M")


def _zone(tz: ZoneInfo) -> str:
    return {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(
        str(tz), str(tz))


def _incidents(screen: Screen, tz: ZoneInfo) -> list[str]:
    items = []
    for site in screen.inventory.sites.values():
        group = screen.sites.groups.get(site.id)
        if group is None or group.state not in INCIDENT:
            continue
        since = (f" sejak {_local(datetime.fromtimestamp(group.since, UTC), tz)} {_zone(tz)}"
                 if group.since else "")
        items.append((group.since or 0.0, f"<li><strong>Kelurahan {html.escape(site.name)}"
                      f"</strong> (Kec. {html.escape(site.kecamatan)}): "
                      f"{INCIDENT[group.state]}{since}. Petugas sedang menangani.</li>"))
    return [text for _, text in sorted(items)]


def _announcements(screen: Screen, now: float, tz: ZoneInfo) -> list[str]:
    """Maintenance in progress, or starting within 7 days; no internal reasons."""
    moment = datetime.fromtimestamp(now, UTC)
    items = []
    for site in screen.inventory.sites.values():
        for window in site.maintenance:
            where = (f"<strong>Kelurahan {html.escape(site.name)}</strong> "
                     f"(Kec. {html.escape(site.kecamatan)})")
            active = window_start(window, moment, tz) is not None
            if window.start is not None:
                end = window.start + timedelta(seconds=window.duration)
                if end < moment or window.start > moment + timedelta(days=7):
                    continue
                when = f"{_local(window.start, tz)} s.d. {_local(end, tz)} {_zone(tz)}"
            elif window.weekly is not None:
                days = ", ".join(DAYS_ID[d] for d in window.weekly.days)
                hours = window.duration / 3600
                when = (f"setiap {days} pukul {window.weekly.at.strftime('%H:%M')} "
                        f"{_zone(tz)}, selama {hours:g} jam")
            else:
                continue
            state = " (sedang berlangsung)" if active else ""
            items.append(f"<li>{where}: pemeliharaan jaringan terjadwal {when}{state}. "
                         "Layanan dapat terganggu.</li>")
    return items


_PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60"><link rel="icon" href="{icon}">
<title>Status layanan jaringan kelurahan</title>
<style>
body{{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1em;
color:#15181c;background:#fff}}
h1{{font-size:1.4rem}}h2{{font-size:1.15rem;margin-top:1.4em}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.25em .5em;
border-bottom:1px solid #d5d9e0}}td.n,th.n{{text-align:right;white-space:nowrap}}
details{{margin:.2em 0}}summary{{cursor:pointer}}.muted{{color:#4d5561}}
.scroll{{overflow-x:auto}}
</style></head><body>
<h1>Status layanan jaringan kelurahan</h1>
<p class="muted">Diperbarui {updated} {zone}. Ketersediaan = waktu layanan berjalan dibagi
waktu yang dihitung; jadwal pemeliharaan tidak dihitung.</p>
<h2>Gangguan saat ini</h2><ul>{incidents}</ul>
<h2>Pemeliharaan terjadwal</h2><ul>{announcements}</ul>
<h2>Ketersediaan per kecamatan</h2>
<div class="scroll"><table><thead><tr><th scope="col">Kecamatan</th>{heads}</tr></thead>
<tbody>{kecamatan}</tbody></table></div>
<h2>Ketersediaan per kelurahan</h2>{kelurahan}
</body></html>"""


async def public_page(request: web.Request) -> web.Response:
    screen = request.app[SCREEN]
    now = time.time()
    tz = ZoneInfo(screen.inventory.timezone)
    found = await availability(screen, now)
    sites = screen.inventory.sites.values()
    per_kec = {name: by_kecamatan(found.sites[name], found.kecamatan_of) for name, _ in WINDOWS}
    heads = "".join(f'<th scope="col" class="n">{label}</th>' for _, label in WINDOWS)
    kec_rows, kel_blocks = [], []
    for kec in sorted({s.kecamatan for s in sites}):
        cells = "".join(f'<td class="n">{percent(per_kec[w].get(kec))}</td>' for w, _ in WINDOWS)
        kec_rows.append(f"<tr><th scope=\"row\">{html.escape(kec)}</th>{cells}</tr>")
        rows = "".join(
            f"<tr><th scope=\"row\">{html.escape(s.name)}</th>"
            + "".join(f'<td class="n">{percent(found.sites[w].get(s.id))}</td>'
                      for w, _ in WINDOWS) + "</tr>"
            for s in sorted(sites, key=lambda s: s.name) if s.kecamatan == kec)
        kel_blocks.append(f"<details><summary>Kec. {html.escape(kec)}</summary>"
                          f'<div class="scroll"><table><thead><tr><th scope="col">Kelurahan'
                          f"</th>{heads}</tr></thead><tbody>{rows}</tbody></table></div>"
                          "</details>")
    incidents = _incidents(screen, tz) or ["<li>Tidak ada gangguan. Semua layanan berjalan "
                                           "normal.</li>"]
    announcements = _announcements(screen, now, tz) or ["<li>Tidak ada.</li>"]
    text = _PAGE.format(icon=ICON, updated=_local(datetime.fromtimestamp(now, UTC), tz),
                        zone=_zone(tz),
                        incidents="".join(incidents), announcements="".join(announcements),
                        heads=heads, kecamatan="".join(kec_rows),
                        kelurahan="".join(kel_blocks))
    return web.Response(text=text, content_type="text/html", charset="utf-8")


async def to_public(request: web.Request) -> web.Response:
    raise web.HTTPFound("/public")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/public", public_page)


def make_public_app(screen: Screen) -> web.Application:
    """The public listener: the status page and nothing else (no /metrics, no API)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[SCREEN] = screen
    add_routes(app)
    app.router.add_get("/", to_public)
    return app
