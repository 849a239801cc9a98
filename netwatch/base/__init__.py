"""The base layer: what every other package may import, importing nothing of netwatch above it.

    errors       the exception tree (NetwatchError -> ConfigError, ProbeError -> ...)
    catalog      every metric family the daemon exports: name, type, help, labels, unit
    exposition   the pre-rendered Prometheus text store (MetricStore, Family, fmt)
    selfmetrics  the daemon watching itself (build, reloads, lateness, loop lag)
    slots        timers on a 10 ms grid (many due callbacks, one loop wake-up)
    addresses    address literals and host-name resolution, re-resolved on a schedule
    logs         structlog set-up (JSON lines, journald priorities)
    memory       returning freed memory to the OS after loads and scrapes
"""
