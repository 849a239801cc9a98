"""netwatch: network monitoring for city networks (ICMP + SNMP -> site states -> Prometheus).

The packages follow the data, each importing only the ones listed below it (a test,
tests/unit/test_layers.py, enforces it):

    cli/         one module per `netwatch` command
    lab/         the simulated city (`netwatch demo`, the integration tests, the benchmarks)
    daemon/      the service: wiring, signals, reloads, systemd, the config file read apart
    generators/  offline tools: rule files, the CSV import, the SLA report
    web/         HTTP: /metrics, /-/*, the NOC pages, the JSON API, the public status page;
                 TLS, basic auth and limits around them
    sites/       per-target hysteresis, the per-site verdict, maintenance, topology
    discovery/   neighbours against the configured topology (drift), `netwatch discover`
    history/     site transitions in SQLite (restored at start), availability, the last
                 day's RTT and loss per device in memory
    icmp/ snmp/  the probers (independent of each other)
    scheduler/   the Prober contract and the timers that run polls under their deadlines
    inventory/   devices, sites and targets built from the config; sharding
    config/      YAML with line marks, pydantic models, secrets, the thresholds file
    base/        anyone may import: errors, metric catalog and exposition, timers, logs
"""

__version__ = "0.1.0"
