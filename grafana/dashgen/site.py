"""Site: one kelurahan (kecamatan -> site -> device): smokeping-style latency, loss, state
timeline, interfaces, the radio links against their own normal (signal, CCQ, capacity
against traffic, LTE), device health and wireless clients."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap, prometheus, stat
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig
from grafana_foundation_sdk.models.heatmap import HeatmapColorMode, HeatmapColorScale

from .common import (
    AVAILABILITY,
    DS,
    NEUTRAL,
    Grid,
    Levels,
    flag_mappings,
    new_dashboard,
    one_per_device,
    organize,
    override,
    query,
    query_variable,
    state_code,
    state_mappings,
    state_thresholds,
    steps,
    trusted,
)
from .kecamatan import TODAY, availability_over_range
from .panels import stat_panel, table_panel, timeline_panel, timeseries_panel

S = '{site="$site"}'
D = 'site="$site", device=~"$device"'
IFACE = f'{D}, ifname=~"$ifname"'
BUCKETS = f'sum by (le) (rate(netwatch_icmp_rtt_seconds_bucket{{{D}}}[$__rate_interval]))'
# the site's label lines up kelurahan (text) and kode (value) in query_result's output
SITE_REGEX = '/kelurahan="(?<text>[^"]*)".*site="(?<value>[^"]*)"/'


def variables(dash: db.Dashboard) -> db.Dashboard:
    return (dash
            .with_variable(query_variable("kecamatan", "Kecamatan",
                                          "label_values(netwatch_site_info, kecamatan)"))
            .with_variable(query_variable("site", "Kelurahan",
                                          'query_result(netwatch_site_info{kecamatan="$kecamatan"})',
                                          regex=SITE_REGEX))
            .with_variable(query_variable("device", "Device",
                                          "label_values(netwatch_up{site=\"$site\"}, device)",
                                          multi=True))
            .with_variable(query_variable(
                "ifname", "Interface",
                'label_values(netwatch_interface_oper_up{site="$site", device=~"$device"}, ifname)',
                multi=True)))


def _summary(levels: Levels) -> list[tuple[object, int]]:
    def pct(title: str, expr: str, thresholds: db.ThresholdsConfig,
            description: str) -> stat.Panel:
        return stat_panel(title, [query(expr, instant=True)], "percentunit", thresholds,
                          decimals=2, description=description)

    return [
        (stat_panel("State", [query(state_code(S), instant=True)], "none", state_thresholds(),
                    mappings=state_mappings(), description="The site's state now."), 3),
        (pct("Availability today", availability_over_range("site", S), AVAILABILITY,
             "Since 00:00 WIB, maintenance excluded.").time_from(TODAY), 3),
        (pct("This month", f"site:netwatch_availability:ratio_mtd{S}", AVAILABILITY,
             "Since the 1st, 00:00 WIB, maintenance excluded."), 3),
        (pct("SLA target", f"max(netwatch_site_sla_target_ratio{S})", NEUTRAL,
             "Availability promised for this site."), 3),
        (pct("Loss 5m", f"site:netwatch_icmp_loss:ratio5m{S}", levels.loss,
             "Echo loss to the router."), 3),
        (stat_panel("RTT p90 5m", [query('site:netwatch_icmp_rtt_seconds:quantile5m'
                                         '{site="$site", quantile="0.9"}', instant=True)],
                    "s", levels.rtt), 3),
        (stat_panel("Maintenance", [query(f"max(netwatch_maintenance_active{S})", instant=True)],
                    "none", steps("green", (1, "blue")),
                    mappings=flag_mappings(("in window", "blue"), ("no", "green"))), 3),
        (pct("Uplink use 5m", f"max(uplink:netwatch_interface_utilization:ratio5m{S})",
             levels.utilisation, "Traffic / contracted capacity, the busier direction."), 3),
    ]


def _smokeping(levels: Levels) -> tuple[object, object]:
    cells = (heatmap.Panel().title("Latency (every echo)").datasource(DS)
             .description("Smokeping-style: the RTT histogram of every answered echo, per "
                          "bucket over time (darker = more echoes). Median and p90 below.")
             .with_target(query(BUCKETS, legend="{{le}}", heatmap=True))
             .unit("short").thresholds(NEUTRAL)
             .calculate(False)
             .y_axis(heatmap.YAxisConfig().unit("s"))
             .color(heatmap.HeatmapColorOptions().mode(HeatmapColorMode.SCHEME)
                    .scheme("Oranges").scale(HeatmapColorScale.EXPONENTIAL).exponent(0.5)
                    .steps(64).reverse(False))
             .cell_values(heatmap.CellValues().unit("short"))
             .show_legend().mode(TooltipDisplayMode.SINGLE))
    # each instance's own echoes: rate() per instance, pooled over those not isolated
    responses = trusted(f"rate(netwatch_icmp_responses_total{{{D}}}[$__rate_interval])")
    requests = trusted(f"rate(netwatch_icmp_requests_total{{{D}}}[$__rate_interval])")
    loss = f'1 - sum({responses})\n  / (sum({requests}) > 0)'
    lines = timeseries_panel(
        "Median, p90 and loss", [
            query(f"histogram_quantile(0.5, {BUCKETS})", legend="median", ref="A"),
            query(f"histogram_quantile(0.9, {BUCKETS})", legend="p90", ref="B"),
            query(loss, legend="loss", ref="C")],
        "s", levels.rtt,
        description="RTT median and p90 from the histogram, echo loss (right axis).",
        overrides=[override("loss", unit="percentunit", min=0, max=1,
                            custom__axisPlacement="right", custom__drawStyle="bars",
                            custom__fillOpacity=60, color={"mode": "fixed", "fixedColor": "red"}),
                   override("median", color={"mode": "fixed", "fixedColor": "green"}),
                   override("p90", color={"mode": "fixed", "fixedColor": "blue"})])
    return cells, lines


def _interfaces(levels: Levels) -> list[tuple[object, int]]:
    traffic = timeseries_panel("Traffic", [
        query(one_per_device(
            f"rate(netwatch_interface_receive_bytes_total{{{IFACE}}}[$__rate_interval])") + " * 8",
              legend="{{device}} {{ifname}} in", ref="A"),
        query(one_per_device(
            f"rate(netwatch_interface_transmit_bytes_total{{{IFACE}}}[$__rate_interval])") + " * 8",
              legend="{{device}} {{ifname}} out", ref="B")],
        "bps", NEUTRAL, description="Bits per second; out is drawn below zero.",
        overrides=[])
    traffic = traffic.override_by_regexp(".* out$", [
        *override("", custom__transform="negative-Y")[1]])
    errors = timeseries_panel("Errors and discards", [
        query(one_per_device(
            f"rate(netwatch_interface_{d}_{what}_total{{{IFACE}}}[$__rate_interval])"),
              legend=f"{{{{device}}}} {{{{ifname}}}} {d[:2]} {what}", ref=chr(ord("A") + i))
        for i, (d, what) in enumerate((d, w) for d in ("receive", "transmit")
                                      for w in ("errors", "discards"))],
        "pps", steps("green", (0.1, "red")),
        description="Packets per second with errors or discarded, per interface.")
    util = timeseries_panel("Uplink utilisation", [query(
        f"uplink:netwatch_interface_utilization:ratio5m{S}",
        legend="{{device}} {{ifname}} {{direction}}")], "percentunit", levels.utilisation,
        description="Uplink traffic / contracted capacity (or ifSpeed) over 5 minutes.",
        min_val=0)
    status = timeline_panel("Interface status", [query(
        one_per_device(f"netwatch_interface_oper_up{{{IFACE}}}"),
        legend="{{device}} {{ifname}}")], "none",
        steps("red", (1, "green")), flag_mappings(("up", "green"), ("down", "red")),
        description="ifOperStatus of each interface.")
    return [(traffic, 12), (util, 12), (errors, 12), (status, 12)]


def _once(name: str, legend: str, ref: str, times: str = "") -> prometheus.Dataquery:
    """A device's series once, whichever twin reported it (`times`: a factor, " * 8")."""
    return query(one_per_device(f"{name}{{{D}}}") + times, legend=legend, ref=ref)


def _radio(levels: Levels) -> list[tuple[object, int]]:
    """Each link against its own normal (the daemon's baselines: the median of the hourly
    medians of the last days), the link quality and what it can carry against what it
    carries, and the LTE modem. Every series once, whichever twin reported it."""
    link = "{{device}} {{ifname}}"
    dashed = {"custom__lineStyle": {"fill": "dash", "dash": [10, 10]}}
    signal = timeseries_panel("Signal against its normal", [
        _once("netwatch_radio_signal_dbm", link, "A"),
        _once("netwatch_radio_signal_baseline_dbm", f"{link} normal", "B")],
        "dBm", NEUTRAL,
        description="Received signal of each radio link and its normal (dashed). A link "
                    f"{levels.signal_fell_by:g} dB under its own normal is radio_degraded "
                    "however strong it still is.",
        overrides=[]).override_by_regexp(".* normal$", [*override("", **dashed)[1]])
    ccq = timeseries_panel("Link quality (CCQ)", [
        _once("netwatch_radio_tx_ccq_ratio", f"{link} tx", "A"),
        _once("netwatch_radio_rx_ccq_ratio", f"{link} rx", "B"),
        _once("netwatch_radio_tx_ccq_baseline_ratio", f"{link} tx normal", "C")],
        "percentunit", NEUTRAL, min_val=0, max_val=1,
        description="Client connection quality: the share of frames sent without a retry "
                    "(MikroTik CCQ, airMAX quality). Its normal dashed.",
        overrides=[]).override_by_regexp(".* normal$", [*override("", **dashed)[1]])

    def traffic(direction: str) -> str:  # on the radio interface, or else the uplink
        rate = f"rate(netwatch_interface_{direction}_bytes_total{{{D}}}[$__rate_interval]) * 8"
        return one_per_device(
            f"({rate}\n  and on (site, device, ifname) "
            f"netwatch_radio_tx_rate_bytes_per_second{{{D}}})\n"
            f"or ({rate}\n  and on (site, device, ifname) "
            f"netwatch_interface_uplink{{{D}}} == 1)")

    capacity = timeseries_panel("Capacity against traffic", [
        _once("netwatch_radio_tx_rate_bytes_per_second", f"{link} link rate", "A", " * 8"),
        _once("netwatch_radio_tx_rate_baseline_bytes_per_second", f"{link} link rate normal",
              "B", " * 8"),
        query(traffic("receive"), legend=f"{link} in", ref="C"),
        query(traffic("transmit"), legend=f"{link} out", ref="D")],
        "bps", NEUTRAL, min_val=0,
        description="The radio's link rate (what it can carry), its normal (dashed), and the "
                    "traffic on the same interface (or the configured uplink, which the link "
                    "carries): traffic near the rate fills the link.",
        overrides=[]).override_by_regexp(".* normal$", [*override("", **dashed)[1]])
    lte = timeseries_panel("LTE", [
        _once("netwatch_lte_rsrp_dbm", f"{link} RSRP", "A"),
        _once("netwatch_lte_rsrp_baseline_dbm", f"{link} RSRP normal", "B"),
        _once("netwatch_lte_sinr_db", f"{link} SINR (dB)", "C")],
        "dBm", steps("red", (levels.rsrp_weak, "green")),
        description=f"The modem's RSRP against its normal (dashed); under "
                    f"{levels.rsrp_weak:g} dBm is weak. SINR on the right axis, in dB.",
        overrides=[]).override_by_regexp(".* normal$", [*override("", **dashed)[1]])
    lte = lte.override_by_regexp(
        ".* SINR \\(dB\\)$", [*override("", unit="dB", custom__axisPlacement="right")[1]])
    peer = "{{device}} {{ifname}} ↔ {{peer}}"
    peer_signal = timeseries_panel("Backhaul peers: signal against its normal", [
        _once("netwatch_radio_peer_signal_dbm", peer, "A"),
        _once("netwatch_radio_peer_signal_baseline_dbm", f"{peer} normal", "B")],
        "dBm", NEUTRAL,
        description="Each remote radio of a backhaul radio (configured `radio: {per_peer: "
                    "true}`), its received signal and its normal (dashed): one peer fading "
                    "while the others hold is that link, not the site's radio.",
        overrides=[]).override_by_regexp(".* normal$", [*override("", **dashed)[1]])
    peer_capacity = timeseries_panel("Backhaul peers: capacity", [
        _once("netwatch_radio_peer_tx_capacity_bytes_per_second", f"{peer} tx", "A", " * 8"),
        _once("netwatch_radio_peer_snr_db", f"{peer} SNR (dB)", "B")],
        "bps", NEUTRAL, min_val=0,
        description="What each backhaul link can carry towards its peer as the radio "
                    "estimates it (airFiber, LTU), and the peer's signal-to-noise ratio on the "
                    "right axis: capacity falls with the SNR in rain or when a path is blocked.",
        overrides=[]).override_by_regexp(
        ".* SNR \\(dB\\)$", [*override("", unit="dB", custom__axisPlacement="right")[1]])
    return [(signal, 12), (ccq, 12), (capacity, 12), (lte, 12), (peer_signal, 12),
            (peer_capacity, 12)]


def _health() -> list[list[tuple[object, int]]]:
    by_device = "{{device}}"
    uptime = stat_panel("Uptime", [query(one_per_device(f"netwatch_device_uptime_seconds{{{D}}}"),
                                         legend=by_device, instant=True)],
                        "s", steps("orange", (900, "green")), color=BigValueColorMode.VALUE,
                        description="As the device reports it; orange in the first 15 minutes.")
    reboots = stat_panel("Reboots in range", [query(
        one_per_device(f"changes(netwatch_device_boot_time_seconds{{{D}}}[$__range])"),
        legend=by_device,
        instant=True)], "none", steps("green", (1, "orange")), decimals=0,
        description="Changes of netwatch_device_boot_time_seconds in the time range.")
    info = table_panel("Devices", [query(one_per_device(f"netwatch_device_info{{{D}}}"),
                                         instant=True, table=True)], "none", NEUTRAL,
                       transformations=[_info_columns()])
    cpu = timeseries_panel("CPU", [query(
        one_per_device(f"netwatch_device_cpu_utilization_ratio{{{D}}}"), legend=by_device)],
                           "percentunit", steps("green", (0.8, "yellow"), (0.95, "red")),
                           min_val=0, max_val=1)
    memory = timeseries_panel("Memory", [query(
        one_per_device(f"netwatch_device_memory_used_bytes{{{D}}}"
                       f" / netwatch_device_memory_total_bytes{{{D}}}"),
        legend=by_device)], "percentunit", steps("green", (0.85, "yellow"), (0.95, "red")),
        min_val=0, max_val=1)
    temperature = timeseries_panel("Temperature", [query(
        one_per_device(f"netwatch_device_temperature_celsius{{{D}}}"),
        legend="{{device}} {{sensor}}")],
        "celsius", steps("green", (60, "yellow"), (75, "red")))
    voltage = timeseries_panel("Voltage", [query(
        one_per_device(f"netwatch_device_voltage_volts{{{D}}}"),
        legend="{{device}} {{sensor}}")],
        "volt", NEUTRAL)
    clients = timeseries_panel("Wireless clients", [query(
        one_per_device(f"netwatch_wireless_clients{{{D}}}"), legend="{{device}} {{ifname}}")],
        "short", NEUTRAL, description="Associated stations per radio or SSID.", min_val=0)
    return [[(uptime, 6), (reboots, 6), (info, 12)],
            [(cpu, 8), (memory, 8), (temperature, 8)],
            [(voltage, 12), (clients, 12)]]


def _info_columns() -> DataTransformerConfig:
    return organize({"device": "device", "role": "role", "vendor": "vendor", "model": "model",
                     "os_version": "version", "profile": "profile"},
                    hide=("Time", "Value", "__name__", "job", "instance", "site", "kecamatan",
                          "sysname"))


def build(levels: Levels) -> db.Dashboard:
    dash = variables(new_dashboard(
        "site", "One kelurahan: state, availability, smokeping-style latency and loss, "
                "interfaces, device health and wireless clients."))
    grid = Grid(dash)
    grid.line(4, *_summary(levels))
    grid.line(5, (timeline_panel("Site state", [query(state_code(S), legend="site")], "none",
                                 state_thresholds(), state_mappings()), 12),
              (timeline_panel("Devices up", [query(one_per_device(f"netwatch_up{{{D}}}"),
                                                   legend="{{device}} {{probe}}")],
                              "none", steps("red", (1, "green")),
                              flag_mappings(("up", "green"), ("down", "red"))), 12))
    grid.row("Latency and loss")
    cells, lines = _smokeping(levels)
    grid.line(9, (cells, 24))
    grid.line(7, (lines, 24))
    grid.row("Interfaces")
    interfaces = _interfaces(levels)
    grid.line(8, *interfaces[:2])
    grid.line(8, *interfaces[2:])
    grid.row("Radio")
    radio = _radio(levels)
    grid.line(8, *radio[:2])
    grid.line(8, *radio[2:4])
    grid.line(8, *radio[4:])
    grid.row("Device health")
    for height, line in zip((5, 7, 7), _health(), strict=True):
        grid.line(height, *line)
    return dash
