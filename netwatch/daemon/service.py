"""The daemon: wiring of config, probers, scheduler, state and web; signals and reloads.

    daemon = Daemon(config_path, inventory)
    await daemon.start()          # probers, scheduler, HTTP; READY=1 to systemd
    await daemon.run_until_stopped()   # SIGTERM/SIGINT stop, SIGHUP reloads
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import structlog
from aiohttp import web

from netwatch.base import memory
from netwatch.base.errors import ConfigError, ListenError, StartupError
from netwatch.base.exposition import MetricStore
from netwatch.base.selfmetrics import SelfMetrics
from netwatch.daemon import sdnotify
from netwatch.daemon.inventory_file import LoadError, read_inventory_apart
from netwatch.discovery.drift import DriftCheck
from netwatch.history.journal import History
from netwatch.history.recent import RecentSeries
from netwatch.inventory.model import PROBES, Inventory, Probe, Target
from netwatch.inventory.shard import Shard
from netwatch.scheduler.prober import Outcome, Prober
from netwatch.scheduler.schedule import Scheduler
from netwatch.sites.engine import SiteEngine
from netwatch.sites.targets import State, TargetState, Transition
from netwatch.web.connections import Limits
from netwatch.web.live import LIVE_WEB
from netwatch.web.public import make_public_app
from netwatch.web.serve import WebOptions, serve
from netwatch.web.server import make_app
from netwatch.web.webconfig import WebSettings, read_web_config

log = structlog.get_logger("netwatch.daemon.service")
DROP_WARNING = 0.5  # a reload keeping less than this share of the targets is logged at warning


def _log_warnings(inventory: Inventory) -> None:
    for warning in inventory.warnings:
        log.warning("config_warning", warning=warning)


def make_prober(probe: Probe) -> Prober:
    """Imported on demand: pysnmp alone is ~30 MB, an ICMP-only daemon never loads it."""
    if probe == "icmp":
        from netwatch.icmp.prober import IcmpProber

        return IcmpProber()
    from netwatch.snmp.prober import SnmpProber

    return SnmpProber()


def history_path(config_path: Path, configured: str | None) -> Path | None:
    """`history.path` (relative to the config file), else history.sqlite in systemd's
    StateDirectory, else None: memory only (a test or a laptop run leaves no file behind)."""
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else config_path.parent / path
    state_dir = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state_dir) / "history.sqlite" if state_dir else None


class Daemon:
    def __init__(self, config_path: str | Path, inventory: Inventory,
                 probers: dict[Probe, Prober] | None = None, listen: str | None = None,
                 shard: Shard | None = None, web_options: WebOptions | None = None) -> None:
        self.config_path = Path(config_path)
        self.web_options = web_options or WebOptions()
        self.shard = shard  # reloads keep polling only this shard's groups
        self.inventory = inventory
        self.listen = listen or inventory.config.listen
        self.store = MetricStore()
        # given probers are fixed (tests, benchmarks); else each is made when a config needs it
        self._own_probers = probers is None
        self.probers: dict[Probe, Prober] = probers if probers is not None else {}
        self.state = State(self.store, self.probers)
        self.sites = SiteEngine(self.store, self.state)
        history = inventory.config.history
        self.history = History(history_path(self.config_path, history.path), self.store,
                               history.retention)
        self.sites.on_change.append(self.history.record)
        self.history.baseline_source = self.sites.why.baselines.take_dirty
        self.recent = RecentSeries()  # the site page's sparklines
        self.state.listeners.append(self._observe_round)
        self.readings = self.sites.why.readings  # boot times: the pages' reboot markers
        self.state.listeners.append(self._recovering)
        self.drift = DriftCheck(self.store)  # configured topology against the neighbours
        self.metrics = SelfMetrics(self.store)
        self.scheduler = Scheduler(self.probers, self._record, self.metrics, gate=self._gate)
        self._runner: web.AppRunner | None = None
        self._public: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._queued_reload: asyncio.Task[tuple[bool, str]] | None = None
        self.addresses: list[tuple[str, int]] = []
        self.public_addresses: list[tuple[str, int]] = []

    # --- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        try:
            # before the first verdict: restored states and their "since" hold until judged
            self.sites.restore(await self.history.start())
            self.sites.why.restore_baselines(self.history.baselines,
                                             self.inventory.thresholds.baselines)
            if self._own_probers:
                await self._add_probers(self.inventory)
            else:
                for prober in self.probers.values():
                    await prober.start()
            await self._serve()
        except BaseException:
            for prober in self.probers.values():
                await prober.close()
            await self.history.close()
            raise
        self._apply(self.inventory)
        self.metrics.reloaded(True)
        settings = self.web_options.settings
        log.info("started", listen=self.listen, config=str(self.config_path),
                 scheme=settings.scheme, basic_auth=bool(settings.users),
                 lifecycle=self.web_options.lifecycle,
                 **{f"{p}_targets": self.inventory.count(p) for p in PROBES})
        _log_warnings(self.inventory)

    async def _serve(self) -> None:
        app = make_app(self)
        app.cleanup_ctx.append(self._background_tasks)
        self._runner = await _listen(app, self.listen, "listen", self.web_options)
        self.addresses = [a[:2] for a in self._runner.addresses]
        public = self.inventory.config.public_listen
        if public is not None:  # the citizens' page alone, outside the operators' surface
            # the same connection limits, but no TLS or basic auth (web config) and no lifecycle
            options = WebOptions(limits=self.web_options.limits)
            try:
                self._public = await _listen(make_public_app(self), public, "public_listen",
                                             options)
            except StartupError:
                await self._runner.cleanup()
                raise
            self.public_addresses = [a[:2] for a in self._public.addresses]

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        # READY=1 only now: a stop or reload systemd sends from here on is handled (before the
        # handlers, SIGHUP's default action would kill the daemon)
        sdnotify.ready(f"polling {len(self.inventory.targets)} targets")
        try:
            await self._stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        await self.shutdown()

    def stop(self) -> None:
        self._stop.set()

    async def shutdown(self) -> None:
        sdnotify.stopping()
        log.info("stopping")
        await self.scheduler.stop()
        if self._public is not None:
            await self._public.cleanup()
        if self._runner is not None:
            await self._runner.cleanup()  # in-flight scrapes finish first, then background tasks
        for prober in self.probers.values():
            await prober.close()
        await self.history.close()  # what is pending is written, the run's end marked
        log.info("stopped")

    async def _background_tasks(self, app: web.Application) -> AsyncIterator[None]:
        """The daemon's loops live as long as its web application (aiohttp's cleanup_ctx):
        started when it starts, cancelled and awaited when it is cleaned up, also after a
        failed start."""
        tasks = [asyncio.create_task(self.metrics.watch_loop_lag(), name="loop lag"),
                 asyncio.create_task(self.sites.run_refresh(), name="maintenance refresh"),
                 asyncio.create_task(self.history.run(), name="history"),
                 asyncio.create_task(self.drift.run(), name="topology check")]
        period = sdnotify.watchdog_period()
        if period:
            tasks.append(asyncio.create_task(self._watchdog(period), name="watchdog"))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _add_probers(self, inventory: Inventory) -> None:
        """Make and start the probers this inventory needs and the daemon lacks."""
        for probe in PROBES:
            if probe not in self.probers and inventory.count(probe):
                prober = make_prober(probe)
                await prober.start()  # StartupError propagates (e.g. no ICMP permission)
                self.probers[probe] = prober

    async def _watchdog(self, period: float) -> None:
        """WATCHDOG=1 only while polls progress: a wedged scheduler gets restarted.

        Progress is judged over two of the longest intervals, not over one watchdog period:
        a target polled every 60s must not get the daemon killed by WatchdogSec=30."""
        loop = asyncio.get_running_loop()
        last, progressed = -1, loop.time()
        while True:
            if self.scheduler.polls != last:
                last, progressed = self.scheduler.polls, loop.time()
            longest = max((t.interval for t in self.inventory.targets.values()), default=0.0)
            if loop.time() - progressed <= 2 * longest or not self.inventory.targets:
                sdnotify.watchdog()
            await asyncio.sleep(period)

    # --- config ---------------------------------------------------------------
    async def reload(self) -> tuple[bool, str]:
        """Validate the whole new config; swap only if it is valid, else keep the old one.

        Requests that arrive while a reload runs share the one queued after it (it reads the
        file they changed): at most one running and one waiting, however many SIGHUPs and
        POSTs come in (70 queued reloads once ran back to back for 78 s)."""
        queued = self._queued_reload
        if queued is None:
            queued = self._queued_reload = asyncio.create_task(self._reload_when_free(),
                                                               name="reload")
        # shielded: a client hanging up does not cancel the reload others wait for
        return await asyncio.shield(queued)

    async def _reload_when_free(self) -> tuple[bool, str]:
        async with self._reload_lock:
            self._queued_reload = None  # from here on, a new request queues the next one
            return await self._reload_now()

    async def _reload_now(self) -> tuple[bool, str]:
        sdnotify.reloading()
        try:
            inventory = await asyncio.to_thread(read_inventory_apart, self.config_path,
                                                self.shard)
        except ConfigError as exc:
            return self._reload_failed(f"\n{exc}", errors=[str(i) for i in exc.issues])
        except LoadError as exc:
            return self._reload_failed(f" {exc}", error=str(exc))
        except Exception as exc:  # a bug: the old config keeps running, the log has it
            log.exception("reload_crashed")
            return self._reload_failed(f" internal error: {type(exc).__name__}",
                                       error=repr(exc))
        web_config = self.web_options.settings.source
        web = None
        if web_config:  # read again as exporter-toolkit does: a renewed certificate, users
            try:
                web = await asyncio.to_thread(read_web_config, web_config)
            except ConfigError as exc:
                return self._reload_failed(f"\n{exc}", web_config=web_config,
                                           errors=[str(i) for i in exc.issues])
        if self._own_probers:
            try:
                await self._add_probers(inventory)
            except StartupError as exc:
                return self._reload_failed(f" {exc}", error=str(exc))
        old = self.inventory
        before = set(old.targets)
        try:
            self._apply(inventory)
        except Exception as exc:  # half way: put the old schedule back as it was
            log.exception("reload_apply_failed")
            self._apply(old)
            return self._reload_failed(f" internal error: {type(exc).__name__}",
                                       error=repr(exc))
        self.metrics.reloaded(True)
        if web is not None:
            self._apply_web(web)
        after = set(inventory.targets)
        log.info("reloaded", added=len(after - before), removed=len(before - after),
                 targets=len(after))
        if len(after) < len(before) * DROP_WARNING and len(before) >= 10:
            log.warning("reload_dropped_targets", before=len(before), after=len(after),
                        config=str(self.config_path))
        _log_warnings(inventory)
        sdnotify.ready(f"polling {len(after)} targets")
        return True, f"reloaded: {len(after)} targets"

    def _reload_failed(self, reason: str, **fields: object) -> tuple[bool, str]:
        """Every failed reload ends here: the old config keeps running, the metric says so,
        the log has the errors, and systemd hears READY=1 again (else it stays "reloading")."""
        self.metrics.reloaded(False)
        log.error("reload_failed", config=str(self.config_path), **fields)
        sdnotify.ready("reload failed; running the previous config")
        return False, f"reload failed, keeping the previous config:{reason}"

    def _apply_web(self, settings: WebSettings) -> None:
        """The web config read again, into the operators' listener (the public one has none)."""
        if self._runner is None:
            return
        if self._runner.app[LIVE_WEB].apply(settings):
            log.warning("web_tls_change_needs_restart", web_config=settings.source,
                        kept="the TLS versions, client certificates and on/off in effect")
        log.info("web_config_reloaded", web_config=settings.source, scheme=settings.scheme,
                 basic_auth=bool(settings.users), headers=sorted(settings.headers))

    def _apply(self, inventory: Inventory) -> None:
        before, after = self.inventory.config, inventory.config
        for name in ("listen", "public_listen", "history"):
            if getattr(before, name) != getattr(after, name):
                log.warning(f"{name}_change_needs_restart", **{name: str(getattr(after, name))})
        self.inventory = inventory
        self.state.sync(inventory)
        self.sites.sync(inventory)
        self.recent.keep(inventory.devices)
        self.drift.sync(inventory)
        self.scheduler.apply(inventory.targets)
        self.metrics.targets = {probe: inventory.count(probe) for probe in PROBES}
        memory.settle()

    # --- polling --------------------------------------------------------------
    def _record(self, target: Target, outcome: Outcome) -> None:
        self.state.record(target, outcome)
        self.drift.record(target, outcome)

    def _observe_round(self, tstate: TargetState, transition: Transition | None) -> None:
        """Every ICMP round of a device into its minute slots (the site page's sparklines)."""
        target, last = tstate.target, tstate.last
        if target.probe != "icmp" or target.device is None or last is None:
            return
        self.recent.observe_round(target.device.key, time.time(), last.result)

    def _gate(self, target: Target) -> bool:
        """ICMP gates SNMP: no walk while ICMP says the device is down and its last round
        went unanswered (a device answering again is walked before its hysteresis ends)."""
        if target.probe != "snmp":
            return True
        owner, device, _ = target.key
        icmp = self.state.targets.get((owner, device, "icmp"))
        return icmp is None or icmp.status != "down" or (icmp.last is not None
                                                         and icmp.last.ok)

    def _recovering(self, tstate: TargetState, transition: Transition | None) -> None:
        """A device answers ping again after an outage: walk its SNMP now, while its site is
        still judged down (a new boot time says it rebooted, its readings say more)."""
        target, last = tstate.target, tstate.last
        if target.probe != "icmp" or target.device is None or last is None or not last.ok:
            return
        back = tstate.status == "down" and tstate.ok_streak == 1
        if back or (transition is not None and transition.old == "down"):
            self.scheduler.poll_soon((*target.device.key, "snmp"))

    # --- web.Daemon -----------------------------------------------------------
    def metric_chunks(self) -> Iterator[bytes]:
        return self.store.chunks()

    def render_metrics(self) -> bytes:
        return b"".join(self.metric_chunks())

    def ready(self) -> bool:
        return self.scheduler.polls > 0 or not self.inventory.targets

    def status_rows(self) -> list[tuple[str, ...]]:
        return self.sites.status_rows(self.inventory)


async def _listen(app: web.Application, listen: str, setting: str,
                  options: WebOptions) -> web.AppRunner:
    host, _, port = listen.rpartition(":")
    try:
        return await serve(app, host.strip("[]"), int(port), options)
    except OSError as exc:
        raise ListenError(listen, exc.strerror or str(exc), setting) from None


async def run(config_path: str | Path, shard: Shard | None = None,
              web_config: str | Path | None = None, lifecycle: bool = False,
              limits: Limits | None = None) -> int:
    """Run the daemon until SIGTERM/SIGINT; return the exit code."""
    try:
        settings = read_web_config(web_config) if web_config else WebSettings()
    except ConfigError as exc:
        log.error("web_config_invalid", web_config=str(web_config),
                  errors=[str(i) for i in exc.issues])
        return 2
    try:
        inventory = read_inventory_apart(config_path, shard)
    except ConfigError as exc:
        log.error("config_invalid", config=str(config_path), errors=[str(i) for i in exc.issues])
        return 2
    except LoadError as exc:
        log.error("startup_failed", error=str(exc))
        return 1
    options = WebOptions(settings, lifecycle, limits or Limits())
    daemon = Daemon(config_path, inventory, shard=shard, web_options=options)
    try:
        await daemon.start()
    except StartupError as exc:
        log.error("startup_failed", error=str(exc))
        return 1
    await daemon.run_until_stopped()
    return 0
