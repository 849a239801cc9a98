"""Every metric family netwatch exports, declared once: name, type, HELP, labels, unit.

This is the contract dashboards, rules and operators read. The MetricStore only creates
families from these entries (`store.family(name)` looks the name up here), so no HELP or
TYPE text is written anywhere else and a family that is not declared here cannot be
exported. SNMP profiles may map OIDs only to the entries whose origin is "profile", with
exactly their labels (netwatch/snmp/profile.py checks it at start-up); the HELP of those
families adds the MIB objects and OIDs the loaded profiles read. The README's metrics
reference and the metric table of docs/profiles.md are generated from this list, and tests
compare a real scrape of the daemon with it (tests/unit/test_catalog.py, the catalog test in
tests/integration/test_daemon.py).

Adding a metric touches only this list and the code that computes the value (then
`python -m netwatch.generators.metricdoc render` rewrites the tables; a test says when they
are stale). For one an SNMP profile maps, the "code" is the profile's YAML entry:

    _m("netwatch_icmp_ttl", "gauge", "TTL of the last echo reply.", "", "icmp", *DEVICE),
    fam = store.family("netwatch_icmp_ttl"); store.set(fam, owner, sample(fam.name, labels, ttl))

The daemon's own series (build, reloads, lateness, loop lag) are declared and rendered like
every other family (netwatch/base/selfmetrics.py): one mechanism for the whole exposition,
instead of prometheus-client's registry appended to it with its own formatting and names.

`labels` are every label of a sample, in the order they are rendered; histogram buckets add
`le`. `unit` is the base unit the name ends with ("" for counts and flags). Types are those
of OpenMetrics; the 0.0.4 text format writes info and stateset families as gauges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

MetricType = Literal["counter", "gauge", "histogram", "info", "stateset"]
# who computes the value: sites/targets.py, sites/engine.py, icmp/result.py, the SNMP poller
# (snmp/poller.py), an SNMP profile (snmp/profiles/*.yml), base/selfmetrics.py,
# history/journal.py, the daemon's topology check (discovery/drift.py)
Origin = Literal["target", "site", "icmp", "snmp", "profile", "self", "history",
                 "topology"]

DEVICE = ("site", "kecamatan", "device", "role")  # every per-device series, in this order
SITE = ("site", "kecamatan")  # every per-site series
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    type: MetricType
    help: str
    unit: str
    origin: Origin
    labels: tuple[str, ...]
    meaning: str = ""  # for the README when HELP alone says too little

    @property
    def exposition_type(self) -> str:
        """The TYPE the 0.0.4 text format writes (it has no info or stateset)."""
        return "gauge" if self.type in ("info", "stateset") else self.type

    @property
    def own_labels(self) -> tuple[str, ...]:
        """The labels beyond the device (or site) labels every such series carries."""
        for common in (DEVICE, SITE):
            if self.labels[:len(common)] == common:
                return self.labels[len(common):]
        return self.labels

    @property
    def per(self) -> str:
        """What one series stands for: device, site, or the poller itself."""
        if self.labels[:len(DEVICE)] == DEVICE:
            return "device"
        if self.labels[:len(SITE)] == SITE or "site" in self.labels:
            return "site"
        return "canary" if "canary" in self.labels else "poller"

    def sample_names(self) -> tuple[str, ...]:
        """The names its samples carry."""
        if self.type == "histogram":
            return tuple(self.name + suffix for suffix in HISTOGRAM_SUFFIXES)
        return (self.name,)

    def help_from(self, sources: Iterable[str]) -> str:
        """HELP naming where the values come from (SNMP: the objects and OIDs read)."""
        listed = ", ".join(sources)
        return f"{self.help} From {listed}." if listed else self.help


def _m(name: str, type: MetricType, help: str, unit: str, origin: Origin, *labels: str,
       meaning: str = "") -> Metric:
    return Metric(name, type, help, unit, origin, labels, meaning)


_TARGET = (*DEVICE, "probe")
_IF = (*DEVICE, "ifname")
_PEER = (*_IF, "peer")  # per radio peer: devices configured as backhaul only, capped
_UPTIMES = ("HOST-RESOURCES-MIB::hrSystemUptime (1.3.6.1.2.1.25.1.1.0), "
            "SNMP-FRAMEWORK-MIB::snmpEngineTime (1.3.6.1.6.3.10.2.1.3.0), "
            "SNMPv2-MIB::sysUpTime (1.3.6.1.2.1.1.3.0)")

METRICS: dict[str, Metric] = {m.name: m for m in (
    # per target (sites/targets.py)
    _m("netwatch_up", "gauge", "Last poll of this target succeeded (1/0).", "", "target",
       *_TARGET),
    _m("netwatch_poll_duration_seconds", "gauge", "How long the last poll took.", "seconds",
       "target", *_TARGET),
    _m("netwatch_poll_errors_total", "counter",
       "Failed polls by reason (timeout, unreachable, auth, protocol, internal).", "", "target",
       *_TARGET, "reason"),
    _m("netwatch_state_changes_total", "counter",
       "Up/down transitions of this target after hysteresis (for flap detection).", "",
       "target", *_TARGET),
    _m("netwatch_canary_up", "gauge",
       "A canary (a target the poller must always reach) is up (1/0).", "", "target", "canary"),
    # sites (sites/engine.py)
    _m("netwatch_site_state", "stateset",
       "The daemon's verdict per site: exactly one state is 1.", "", "site", *SITE, "state",
       meaning="The daemon's verdict per site: up, degraded, down, unreachable or "
       "maintenance; exactly one is 1."),
    _m("netwatch_site_state_changes_total", "counter",
       "Transitions of the site state (for flap detection).", "", "site", *SITE),
    _m("netwatch_site_cause", "stateset",
       "Why the site is not up: exactly one cause is 1 while it is not up, none while it is.",
       "", "site", *SITE, "cause",
       meaning="Why the site is not up, from the evidence the thresholds file's `causes` name "
       "(docs/causes.md): exactly one cause is 1 while it is degraded, down, unreachable or in "
       "maintenance, all are 0 while it is up."),
    _m("netwatch_site_reboot_state_changes_total", "counter",
       "Transitions of the site state that a device reboot explains (the outage while it "
       "booted); flapping counts the others.", "", "site", *SITE),
    _m("netwatch_site_info", "info", "Site identity and location from the config (value 1).",
       "", "site", "site", "kelurahan", "kecamatan", "latitude", "longitude", "isp", "upstream",
       meaning="Site identity and location from the config, for maps and joins (value 1)."),
    _m("netwatch_site_sla_target_ratio", "gauge", "Availability promised for the site.",
       "ratio", "site", *SITE),
    _m("netwatch_maintenance_active", "gauge",
       "1 while the site is inside a maintenance window.", "", "site", *SITE),
    _m("netwatch_device_suppressed", "stateset",
       "Why a device's trouble is not its own (at most one reason is 1).", "", "site",
       *DEVICE, "reason",
       meaning="Why a device's trouble is not its own: parent_down, upstream_down, "
       "maintenance or poller_isolated (at most one is 1)."),
    _m("netwatch_topology_mismatch", "gauge",
       "The device's neighbours contradict the configured topology (value 1 while they do): "
       "kind parent, upstream, missing_parent or missing_upstream; expected is the configured "
       "link, observed "
       "the configured device its neighbours show instead.", "", "topology", *DEVICE,
       "kind", "expected", "observed",
       meaning="The neighbours contradict the configured topology (1 while they do): "
       "`kind` parent (the configured parent is not the device seen), upstream (a "
       "different upstream's device is seen), missing_parent (adjacent to a device of its "
       "site that the config does not make its parent), missing_upstream (attached to a POP "
       "while the config gives its site no upstream)."),
    _m("netwatch_interface_uplink", "gauge",
       "Marks the interface the config names as the site's uplink (value 1).", "", "site", *_IF),
    _m("netwatch_interface_capacity_bytes", "gauge",
       "Contracted capacity of the uplink, bytes per second.", "bytes", "site", *_IF),
    _m("netwatch_poller_isolated", "gauge",
       "1 when every canary is down: the poller itself is cut off.", "", "site"),
    # each link against its own normal (sites/baseline.py): medians of hourly medians
    _m("netwatch_icmp_rtt_baseline_seconds", "gauge",
       "The device's normal RTT: median over days of its hourly median round RTT.", "seconds",
       "site", *DEVICE),
    _m("netwatch_radio_signal_baseline_dbm", "gauge",
       "The link's normal signal: median over days of its hourly medians.", "dbm", "site",
       *_IF),
    _m("netwatch_radio_peer_signal_baseline_dbm", "gauge",
       "The peer's normal signal: median over days of its hourly medians.", "dbm", "site",
       *_PEER),
    _m("netwatch_radio_tx_ccq_baseline_ratio", "gauge",
       "The link's normal transmit CCQ: median over days of its hourly medians.", "ratio",
       "site", *_IF),
    _m("netwatch_radio_peer_ccq_baseline_ratio", "gauge",
       "The peer's normal CCQ: median over days of its hourly medians.", "ratio", "site",
       *_PEER),
    _m("netwatch_radio_tx_rate_baseline_bytes_per_second", "gauge",
       "The link's normal transmit rate (PHY): median over days of its hourly medians.",
       "bytes_per_second", "site", *_IF),
    _m("netwatch_lte_rsrp_baseline_dbm", "gauge",
       "The modem's normal RSRP: median over days of its hourly medians.", "dbm", "site", *_IF),
    _m("netwatch_lte_sinr_baseline_db", "gauge",
       "The modem's normal SINR: median over days of its hourly medians.", "db", "site", *_IF),
    _m("netwatch_baseline_series", "gauge",
       "Series whose baseline the daemon keeps (bounded by baselines.max_series).", "", "site"),
    _m("netwatch_baseline_series_refused_total", "counter",
       "Series not kept because baselines.max_series was reached.", "", "site"),
    # ICMP (icmp/result.py)
    _m("netwatch_icmp_rtt_seconds", "histogram",
       "RTT of every echo answered within the timeout (kernel receive timestamp).", "seconds",
       "icmp", *DEVICE,
       meaning="RTT of every in-time reply (kernel timestamps); buckets from 50 µs, "
       "doubling up to 26 s."),
    _m("netwatch_icmp_requests_total", "counter", "Echo requests sent.", "", "icmp", *DEVICE),
    _m("netwatch_icmp_responses_total", "counter",
       "Echo replies received within the timeout; loss = 1 - responses/requests.", "", "icmp",
       *DEVICE,
       meaning="Echo replies within the timeout; loss = 1 − rate(responses) / "
       "rate(requests)."),
    _m("netwatch_icmp_late_responses_total", "counter",
       "Echo replies received after the timeout (not counted as responses).", "", "icmp",
       *DEVICE),
    _m("netwatch_icmp_duplicate_responses_total", "counter",
       "Repeated echo replies for an already answered request.", "", "icmp", *DEVICE),
    _m("netwatch_icmp_round_rtt_seconds", "gauge",
       "RTT statistics of the last round (min, avg, max, mdev as ping prints them).",
       "seconds", "icmp", *DEVICE, "stat"),
    _m("netwatch_icmp_round_loss_ratio", "gauge", "Share of echoes lost in the last round.",
       "ratio", "icmp", *DEVICE),
    # SNMP, computed by the poller from the system group (snmp/poller.py)
    _m("netwatch_device_info", "info",
       "Device identity from SNMP (value 1): sysName from SNMPv2-MIB (1.3.6.1.2.1.1.5.0); "
       "vendor, model and os_version as the profile reads them (sysDescr 1.3.6.1.2.1.1.1.0, "
       "vendor MIBs).", "", "snmp", *DEVICE, "vendor", "model", "os_version", "sysname",
       "profile", meaning="Identity from SNMP, and the profile in use (value 1)."),
    _m("netwatch_device_boot_time_seconds", "gauge",
       "Unix time of the device's last boot; changes only on a reboot (uptime going back, "
       f"497-day TimeTicks wrap excluded). Now minus the first uptime present of {_UPTIMES}.",
       "seconds", "snmp", *DEVICE,
       meaning="Unix time of the last boot; changes only on a reboot, not on an SNMP agent "
       "restart (hrSystemUptime → engine time → sysUpTime, wrap-guarded)."),
    _m("netwatch_device_uptime_seconds", "gauge",
       f"Uptime as the device reports it: the first present of {_UPTIMES}.", "seconds",
       "snmp", *DEVICE, meaning="Uptime as the device reports it (hrSystemUptime → "
       "engine time → sysUpTime)."),
    _m("netwatch_neighbor_info", "info",
       "A neighbour the device reports (value 1): LLDP-MIB lldpRemTable "
       "(1.0.8802.1.1.2.1.4.1), CISCO-CDP-MIB cdpCacheTable (1.3.6.1.4.1.9.9.23.1.2.1), "
       "MIKROTIK-MIB mtxrNeighborTable (1.3.6.1.4.1.14988.1.1.11.1); read at refreshes, "
       "not every poll.", "", "snmp", *_IF, "protocol", "remote_name", "remote_port",
       meaning="A neighbour the device reports by LLDP, CDP or MikroTik's MNDP (value 1): "
       "the local interface, the neighbour's name (its chassis id when it sends none) and "
       "port; read at the identity cadence, at most 64 per device."),
    _m("netwatch_neighbors_over_limit", "gauge",
       "Neighbours the device reported beyond the 64 that get a netwatch_neighbor_info "
       "series.", "", "snmp", *DEVICE,
       meaning="Neighbours beyond the 64 per device that get a `netwatch_neighbor_info` "
       "series: counted here, not exported."),
    _m("netwatch_radio_peers_over_limit", "gauge",
       "Radio peers of a backhaul device beyond its max_peers in the last poll; they get no "
       "per-peer series.", "", "snmp", *DEVICE,
       meaning="Radio peers of a backhaul device beyond its `radio.max_peers` in the last "
       "poll: counted here, not exported per peer."),
    _m("netwatch_snmp_rejected_values_total", "counter",
       "Values of the wrong type for the metric a profile maps them to (e.g. OCTET STRING "
       "where a counter belongs), per metric family; such values are not exported.", "",
       "snmp", *DEVICE, "family",
       meaning="Values of the wrong type for the metric family a profile maps them to "
       "(e.g. OCTET STRING for a counter); not exported, counted here."),
    _m("netwatch_snmp_truncated_tables_total", "counter",
       "Polls whose walk of a table stopped at the profile's row cap (max_rows).", "", "snmp",
       *DEVICE, "table"),
    # SNMP, mapped by profiles (snmp/profiles/*.yml)
    _m("netwatch_device_cpu_utilization_ratio", "gauge", "CPU utilisation, 0..1.", "ratio",
       "profile", *DEVICE),
    _m("netwatch_device_memory_used_bytes", "gauge", "Memory in use.", "bytes", "profile",
       *DEVICE),
    _m("netwatch_device_memory_total_bytes", "gauge", "Memory installed.", "bytes", "profile",
       *DEVICE),
    _m("netwatch_device_temperature_celsius", "gauge", "Temperature per sensor.", "celsius",
       "profile", *DEVICE, "sensor"),
    _m("netwatch_device_voltage_volts", "gauge", "Voltage per sensor.", "volts", "profile",
       *DEVICE, "sensor"),
    _m("netwatch_interface_info", "info", "Interface identity (value 1); join on ifname.", "",
       "profile", *_IF, "ifindex", "ifalias", "iftype"),
    _m("netwatch_interface_receive_bytes_total", "counter",
       "Octets received (64-bit counter where the device has it).", "bytes", "profile", *_IF),
    _m("netwatch_interface_transmit_bytes_total", "counter",
       "Octets sent (64-bit counter where the device has it).", "bytes", "profile", *_IF),
    _m("netwatch_interface_receive_packets_total", "counter", "Unicast packets received.", "",
       "profile", *_IF),
    _m("netwatch_interface_transmit_packets_total", "counter", "Unicast packets sent.", "",
       "profile", *_IF),
    _m("netwatch_interface_receive_errors_total", "counter", "Inbound packets with errors.", "",
       "profile", *_IF),
    _m("netwatch_interface_transmit_errors_total", "counter", "Outbound packets with errors.",
       "", "profile", *_IF),
    _m("netwatch_interface_receive_discards_total", "counter", "Inbound packets discarded.", "",
       "profile", *_IF),
    _m("netwatch_interface_transmit_discards_total", "counter", "Outbound packets discarded.",
       "", "profile", *_IF),
    _m("netwatch_interface_oper_up", "gauge", "Operational state is up (1/0).", "", "profile",
       *_IF),
    _m("netwatch_interface_admin_up", "gauge", "Administrative state is up (1/0).", "",
       "profile", *_IF),
    _m("netwatch_interface_speed_bytes", "gauge", "Nominal speed in bytes per second.", "bytes",
       "profile", *_IF, meaning="Nominal speed in bytes per second (ifHighSpeed, else ifSpeed)."),
    _m("netwatch_wireless_clients", "gauge", "Associated stations per radio or SSID.", "",
       "profile", *_IF),
    _m("netwatch_wireless_client_signal_dbm", "gauge",
       "Signal of the associated stations, aggregated per radio (stat: min, median, max).",
       "dbm", "profile", *_IF, "stat",
       meaning="Signal of the associated stations per radio: `stat` is min, median or max "
       "(client tables are aggregated, never one series per client)."),
    _m("netwatch_wireless_ssid_info", "info",
       "The SSID a radio or VAP interface serves (value 1); SSIDs repeat, ifname does not.",
       "", "profile", *_IF, "ssid"),
    # radio links (snmp/profiles/*.yml): per radio interface
    _m("netwatch_radio_signal_dbm", "gauge",
       "Received signal strength of the radio's link (station side, or point-to-point).",
       "dbm", "profile", *_IF),
    _m("netwatch_radio_noise_floor_dbm", "gauge", "Noise floor the radio measures.", "dbm",
       "profile", *_IF),
    _m("netwatch_radio_rssi_db", "gauge",
       "RSSI as the radio reports it, dB over the chipset's reference (airOS).", "db",
       "profile", *_IF),
    _m("netwatch_radio_chain_rssi_db", "gauge", "RSSI per receive chain, as reported (airOS).",
       "db", "profile", *_IF, "chain"),
    _m("netwatch_radio_tx_ccq_ratio", "gauge",
       "Client connection quality of transmitted frames, 0..1.", "ratio", "profile", *_IF),
    _m("netwatch_radio_rx_ccq_ratio", "gauge",
       "Client connection quality of received frames, 0..1.", "ratio", "profile", *_IF),
    _m("netwatch_radio_tx_rate_bytes_per_second", "gauge",
       "Current transmit rate (PHY) of the radio's link, bytes per second (bit rate / 8).",
       "bytes_per_second", "profile", *_IF),
    _m("netwatch_radio_rx_rate_bytes_per_second", "gauge",
       "Current receive rate (PHY) of the radio's link, bytes per second (bit rate / 8).",
       "bytes_per_second", "profile", *_IF),
    _m("netwatch_radio_frequency_hertz", "gauge", "Operating (centre) frequency.", "hertz",
       "profile", *_IF),
    _m("netwatch_radio_channel", "gauge",
       "Channel number, where the device reports a channel instead of a frequency.", "",
       "profile", *_IF),
    _m("netwatch_radio_tx_power_dbm", "gauge", "Configured transmit power.", "dbm", "profile",
       *_IF),
    _m("netwatch_radio_eirp_dbm", "gauge", "Transmit power as EIRP (antenna gain included).",
       "dbm", "profile", *_IF),
    _m("netwatch_radio_distance_meters", "gauge",
       "Link distance the radio measures or is set for.", "meters", "profile", *_IF),
    _m("netwatch_radio_airmax_quality_ratio", "gauge",
       "Link quality as airMAX rates it, 0..1.", "ratio", "profile", *_IF),
    _m("netwatch_radio_airmax_capacity_ratio", "gauge",
       "Link capacity as airMAX rates it, 0..1.", "ratio", "profile", *_IF),
    _m("netwatch_radio_channel_utilization_ratio", "gauge",
       "Share of airtime the channel is busy (all transmitters heard), 0..1.", "ratio",
       "profile", *_IF),
    # radio peers: one series per remote radio, only for devices configured as backhaul
    _m("netwatch_radio_peer_signal_dbm", "gauge", "Signal received from the peer.", "dbm",
       "profile", *_PEER),
    _m("netwatch_radio_peer_snr_db", "gauge", "Signal-to-noise ratio of the peer's signal.",
       "db", "profile", *_PEER),
    _m("netwatch_radio_peer_ccq_ratio", "gauge", "Connection quality to the peer, 0..1.",
       "ratio", "profile", *_PEER),
    _m("netwatch_radio_peer_tx_rate_bytes_per_second", "gauge",
       "Current transmit rate (PHY) towards the peer, bytes per second (bit rate / 8).",
       "bytes_per_second", "profile", *_PEER),
    _m("netwatch_radio_peer_rx_rate_bytes_per_second", "gauge",
       "Current receive rate (PHY) from the peer, bytes per second (bit rate / 8).",
       "bytes_per_second", "profile", *_PEER),
    _m("netwatch_radio_peer_tx_capacity_bytes_per_second", "gauge",
       "Transmit capacity towards the peer as the radio estimates it, bytes per second.",
       "bytes_per_second",
       "profile", *_PEER),
    _m("netwatch_radio_peer_rx_capacity_bytes_per_second", "gauge",
       "Receive capacity from the peer as the radio estimates it, bytes per second.",
       "bytes_per_second",
       "profile", *_PEER),
    _m("netwatch_radio_peer_rx_power_dbm", "gauge", "Receive power from the peer per chain.",
       "dbm", "profile", *_PEER, "chain"),
    _m("netwatch_radio_peer_rx_power_ideal_dbm", "gauge",
       "Receive power the radio expects from the peer per chain (compare with rx_power).",
       "dbm", "profile", *_PEER, "chain"),
    _m("netwatch_radio_peer_tx_modulation", "gauge",
       "Transmit modulation towards the peer, as the vendor numbers it (LTU: the x rate, "
       "AF60: the MCS).", "", "profile", *_PEER),
    _m("netwatch_radio_peer_rx_modulation", "gauge",
       "Receive modulation from the peer, as the vendor numbers it (LTU: the x rate, "
       "AF60: the MCS).", "", "profile", *_PEER),
    _m("netwatch_radio_peer_distance_meters", "gauge", "Distance to the peer.", "meters",
       "profile", *_PEER),
    # LTE modems
    _m("netwatch_lte_rsrp_dbm", "gauge", "LTE reference signal received power.", "dbm",
       "profile", *_IF),
    _m("netwatch_lte_rsrq_db", "gauge", "LTE reference signal received quality.", "db",
       "profile", *_IF),
    _m("netwatch_lte_sinr_db", "gauge", "LTE signal to interference plus noise ratio.", "db",
       "profile", *_IF),
    _m("netwatch_lte_rssi_dbm", "gauge", "LTE received signal strength.", "dbm", "profile",
       *_IF),
    _m("netwatch_lte_info", "info",
       "The LTE modem's serving cell and access technology (value 1).", "", "profile", *_IF,
       "technology", "cell_id"),
    # power over Ethernet, optics
    _m("netwatch_poe_status", "stateset",
       "PoE output state per port: exactly one of disabled, waiting_for_load, powered_on, "
       "overload is 1.", "", "profile", *_IF, "status"),
    _m("netwatch_poe_voltage_volts", "gauge", "PoE output voltage per port.", "volts",
       "profile", *_IF),
    _m("netwatch_poe_current_amperes", "gauge", "PoE output current per port.", "amperes",
       "profile", *_IF),
    _m("netwatch_poe_power_watts", "gauge", "PoE output power per port.", "watts", "profile",
       *_IF),
    _m("netwatch_optic_rx_power_dbm", "gauge", "Optical receive power of the SFP module.",
       "dbm", "profile", *_IF),
    _m("netwatch_optic_tx_power_dbm", "gauge", "Optical transmit power of the SFP module.",
       "dbm", "profile", *_IF),
    _m("netwatch_optic_temperature_celsius", "gauge", "Temperature of the SFP module.",
       "celsius", "profile", *_IF),
    # storage, DHCP, power supplies
    _m("netwatch_device_storage_used_bytes", "gauge",
       "Disk or flash in use per storage (hrStorage fixed disks and flash).", "bytes",
       "profile", *DEVICE, "storage"),
    _m("netwatch_device_storage_total_bytes", "gauge",
       "Disk or flash size per storage (hrStorage fixed disks and flash).", "bytes",
       "profile", *DEVICE, "storage"),
    _m("netwatch_dhcp_leases", "gauge", "DHCP leases the device's server holds.", "",
       "profile", *DEVICE),
    _m("netwatch_power_output_voltage_volts", "gauge", "Voltage per power output.", "volts",
       "profile", *DEVICE, "output"),
    _m("netwatch_power_output_current_amperes", "gauge", "Current per power output.",
       "amperes", "profile", *DEVICE, "output"),
    _m("netwatch_power_output_power_watts", "gauge", "Power per power output.", "watts",
       "profile", *DEVICE, "output"),
    _m("netwatch_power_supply_on", "gauge",
       "The power supply (AC input, DC or battery) is on (1) or off/standby (0).", "",
       "profile", *DEVICE, "supply"),
    _m("netwatch_power_supply_voltage_volts", "gauge", "Voltage of the power supply.", "volts",
       "profile", *DEVICE, "supply"),
    _m("netwatch_power_battery_charging", "gauge",
       "The supply's batteries are charging (1) or not (0).", "", "profile", *DEVICE,
       "supply"),
    _m("netwatch_power_battery_charge_ratio", "gauge", "Battery charge level, 0..1.", "ratio",
       "profile", *DEVICE, "supply"),
    _m("netwatch_power_battery_remaining_seconds", "gauge",
       "Run time the batteries have left, as the supply estimates it.", "seconds", "profile",
       *DEVICE, "supply"),
    # the daemon watching itself (base/selfmetrics.py)
    _m("netwatch_build_info", "info", "Version of netwatch and Python (value 1).", "", "self",
       "version", "python"),
    _m("netwatch_config_last_reload_successful", "gauge",
       "Whether the last config (re)load succeeded (1/0).", "", "self"),
    _m("netwatch_config_last_reload_success_timestamp_seconds", "gauge",
       "Unix time of the last successful config (re)load.", "seconds", "self"),
    _m("netwatch_targets", "gauge", "Targets configured, per probe.", "", "self", "probe"),
    _m("netwatch_poll_lateness_seconds", "histogram",
       "Delay between a poll's scheduled tick and its start.", "seconds", "self", "probe"),
    _m("netwatch_polls_skipped_total", "counter",
       "Scheduled polls skipped because the previous one overran.", "", "self", "probe"),
    _m("netwatch_event_loop_lag_seconds", "gauge",
       "Largest event-loop wake-up delay seen in the last 10 s.", "seconds", "self"),
    # the history file (history/journal.py)
    _m("netwatch_history_write_errors_total", "counter",
       "Failed writes or opens of the history file (full disk, corrupt file, no permission).",
       "", "history",
       meaning="Failed writes or opens of the history file (full disk, corrupt file, no "
       "permission); transitions stay in memory meanwhile."),
    _m("netwatch_history_pending_events", "gauge",
       "Site transitions kept in memory, not yet written to the history file.", "",
       "history"),
)}


def of(origin: Origin) -> list[Metric]:
    """The entries one part of the daemon computes, in catalog order."""
    return [m for m in METRICS.values() if m.origin == origin]


def sample_names() -> set[str]:
    """Every sample name the daemon can export (histograms with their three series)."""
    return {name for m in METRICS.values() for name in m.sample_names()}
