"""Printing bench/compare.py's figures as they come, and the summary against issue 9's
figures at the end. Everything printed is also kept in `Report.data` (for --json)."""

from __future__ import annotations

import math
from typing import Any

from bench.common import Spread, percentile, ratio
from bench.exposition import show as show_exposition

TRUTH = 0.020


def _ms(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 1e3:.{digits}f}"


class Report:
    def __init__(self, info: dict[str, Any]) -> None:
        self.data: dict[str, Any] = {"info": info, "icmp_scale": [], "snmp_scale": [],
                                     "truth": []}

    def title(self, text: str) -> None:
        print(f"\n== {text}", flush=True)

    # --- comparisons ----------------------------------------------------------------------
    def icmp(self, spreads: dict[str, Spread], rss: dict[str, float]) -> None:
        nw = spreads["netwatch"]
        print(f"  {'tool':<19} {'CPU per echo, us: median (min-max)':>36}  {'vs netwatch':>18}"
              f"  {'RSS':>7}")
        for tool, spread in spreads.items():
            versus = ratio(spread, nw)
            print(f"  {tool:<19} {spread.text(1e6, 1):>36}  {versus.text(1, 2) + 'x':>18}  "
                  f"{rss.get(tool, 0) / 1e6:5.0f} MB")
        self.data["icmp"] = {"spreads": spreads, "rss": rss,
                             "vs_fping": ratio(nw, spreads["fping"]),
                             "blackbox_vs": ratio(spreads["blackbox_exporter"], nw)}
        print(f"  netwatch / fping = {self.data['icmp']['vs_fping'].text(1, 2)}x;  "
              f"blackbox_exporter / netwatch = {self.data['icmp']['blackbox_vs'].text(1, 1)}x",
              flush=True)

    def snmp(self, spreads: dict[str, Spread], notes: dict[str, str]) -> None:
        nw = spreads["netwatch"]
        print(f"  {'tool':<15} {'CPU per device poll, ms: median (min-max)':>42}  "
              f"{'vs netwatch':>18}  notes")
        for tool, spread in spreads.items():
            versus = ratio(spread, nw)
            print(f"  {tool:<15} {spread.text(1e3, 2):>42}  {versus.text(1, 2) + 'x':>18}"
                  f"  {notes.get(tool, '')}")
        self.data["snmp"] = {"spreads": spreads, "notes": notes,
                             "vs_exporter": ratio(nw, spreads["snmp_exporter"])}
        print(f"  netwatch / snmp_exporter = {self.data['snmp']['vs_exporter'].text(1, 2)}x "
              "(agents' CPU not counted)", flush=True)

    # --- scale ----------------------------------------------------------------------------
    def _add_row(self, table: str, header: str, r: dict[str, Any]) -> None:
        """Keep a scale row; the table's header goes before its first row."""
        if not self.data[table]:
            print(header)
        self.data[table].append(r)

    def icmp_scale(self, r: dict[str, Any]) -> None:
        self._add_row("icmp_scale",
                      f"  {'targets':>13} {'cores':>6} {'CPU/10k':>8} {'late p99':>9}"
                      f" {'skipped':>7} {'in flight':>9} {'tasks':>17} {'RSS/peak MB':>11}"
                      f" {'/metrics gz':>15} {'plain':>15} {'RTT p99':>8} {'truth +p99':>10}"
                      f" {'lag max':>8} {'others/s':>8}", r)
        late = r["lateness"].get("icmp", {})
        rtt, truth = r["rtt"].get("loopback", {}), r["rtt"].get("truth", {})
        who = f"{r['n']:,}" + (f" ({r['dead']:,} dead)" if r["dead"] else "")
        tasks = "/".join(str(t) for t in r["tasks"])
        print(f"  {who:>13} {r['cores']:6.3f} {r['per10k']:7.3f}s {_ms(late.get('p99'), 0):>6} ms"
              f" {r['skipped']['icmp']:7.0f} {r['inflight_max'].get('icmp', 0):9} {tasks:>17}"
              f" {r['rss'] / 1e6:5.0f}/{r['peak'] / 1e6:<5.0f} {r['scrape_gzip_s']:5.2f} s "
              f"{r['scrape_gzip_bytes'] / 1e6:5.1f} MB {r['scrape_plain_s']:5.2f} s "
              f"{r['scrape_plain_bytes'] / 1e6:5.0f} MB {_ms(rtt.get('p99')):>5} ms "
              f"{_ms(truth.get('p99', math.nan) - TRUTH):>7} ms {_ms(r['lag_max'], 0):>5} ms"
              f" {r['foreign_replies_per_s']:8.0f}", flush=True)

    def snmp_scale(self, r: dict[str, Any]) -> None:
        self._add_row("snmp_scale",
                      f"  {'devices':>17} {'cores':>6} {'ms/poll':>7} {'polls/due':>11}"
                      f" {'failed':>6} {'late p99':>9} {'skipped':>7} {'in flight':>9}"
                      f" {'tasks':>14} {'RSS/peak MB':>11} {'/metrics plain':>16} {'series':>8}"
                      f" {'agents':>7} {'caught up':>9}", r)
        late = r["lateness"].get("snmp", {})
        who = f"{r['live'] + r['dead']:,}" + (f" ({r['dead']:,} dead)" if r["dead"] else "")
        polled = r["polls_by_class"].get("snmp/snmp", 0)
        tasks = "/".join(str(t) for t in r["tasks"])
        print(f"  {who:>17} {r['cores']:6.3f} {r['cpu'] / max(1, r['snmp_polls']) * 1e3:7.2f}"
              f" {polled:>5}/{r['live'] * r['intervals']:<5} "
              f"{r['failed_by_class'].get('snmp/snmp', 0):6} {_ms(late.get('p99'), 0):>6} ms "
              f"{r['skipped']['snmp']:7.0f} {r['inflight_max'].get('snmp', 0):9} {tasks:>14} "
              f"{r['rss'] / 1e6:5.0f}/{r['peak'] / 1e6:<5.0f} {r['scrape_plain_s']:5.2f} s "
              f"{r['scrape_plain_bytes'] / 1e6:5.1f} MB {r['series']:8,} "
              f"{r['agents_cores']:6.3f}c {r['settled_after']:7.0f} s", flush=True)

    def exposition(self, r: dict[str, Any]) -> None:
        self.data["exposition"] = r
        show_exposition(r)

    # --- RTT truth ------------------------------------------------------------------------
    def _truth_row(self, row: dict[str, Any]) -> None:
        if len(self.data["truth"]) == 0:
            print(f"  {'tool':<50} {'n':>5} {'excess p50':>11} {'p99':>9} {'max':>9}  CPU")
        self.data["truth"].append(row)
        print(f"  {row['tool'] + ' (' + row['load'] + ')':<50} {row['n']:>5} {row['p50']:>8} ms "
              f"{row['p99']:>6} ms {row['max']:>6} ms  {row['cpu']}", flush=True)

    def truth(self, tool: str, load: str, rtts: list[float], cpu: float, wall: float) -> None:
        excess = [r - TRUTH for r in rtts]
        self._truth_row({"tool": tool, "load": load, "n": len(excess),
                         "p50": _ms(percentile(excess, 50)), "p99": _ms(percentile(excess, 99)),
                         "max": _ms(max(excess, default=math.nan)),
                         "cpu": f"{cpu / wall:.2f} cores" if wall else ""})

    def truth_histogram(self, tool: str, load: str,
                        histograms: dict[str, list[tuple[float, float]]], truth: list[str],
                        cpu: float, wall: float, note: str) -> None:
        merged: dict[float, float] = {}
        for address in truth:
            for le, n in histograms.get(address, []):
                merged[le] = merged.get(le, 0.0) + n
        cumulative = sorted(merged.items())
        total = cumulative[-1][1] if cumulative else 0

        def bound(p: float) -> str:
            if not total:
                return "n/a"
            wanted = p / 100 * total
            le = next(le for le, n in cumulative if n >= wanted)
            if math.isfinite(le):
                return "<=" + _ms(le - TRUTH, 1)
            return f">{_ms(cumulative[-2][0] - TRUTH, 0)}"  # beyond the last finite bucket

        self._truth_row({"tool": tool, "load": load + (f"; {note}" if note else ""),
                         "n": int(total), "p50": bound(50), "p99": bound(99), "max": bound(100),
                         "cpu": f"{cpu / wall:.2f} cores (histogram buckets)" if wall else ""})

    def truth_daemon(self, tool: str, r: dict[str, Any], final: bool = False) -> None:
        truth, loop = r["rtt"].get("truth", {}), r["rtt"].get("loopback", {})
        row = {"tool": tool, "load": "daemon", "n": truth.get("n", 0),
               "p50": _ms(truth.get("p50", math.nan) - TRUTH),
               "p99": _ms(truth.get("p99", math.nan) - TRUTH),
               "max": _ms(truth.get("max", math.nan) - TRUTH),
               "cpu": f"{r['cores']:.2f} cores; loopback RTT p99 {_ms(loop.get('p99'))} ms"}
        if final:
            self.data["final"] = r
        self._truth_row(row)

    # --- summary --------------------------------------------------------------------------
    def summary(self, elapsed: float, load_end: str) -> None:
        d = self.data
        checks: list[tuple[str, str, str, bool | None]] = []
        if "icmp" in d:
            vs = d["icmp"]["vs_fping"]
            checks.append(("ICMP CPU per echo vs fping", f"{vs.text(1, 2)}x", "<= 3.5x",
                           vs.median <= 3.5))
            bb = d["icmp"]["blackbox_vs"]
            checks.append(("ICMP: blackbox_exporter's CPU per echo / netwatch's",
                           f"{bb.text(1, 1)}x", ">= 10x", bb.median >= 10))
        big = [r for r in d["icmp_scale"] if r["n"] >= 10_000 and not r["dead"]]
        if big:
            checks.append(("10,000 ICMP targets every 15 s", f"{big[-1]['cores']:.3f} cores",
                           "<= 1 core", big[-1]["cores"] <= 1))
        if "snmp" in d:
            vs = d["snmp"]["vs_exporter"]
            checks.append(("SNMP CPU per device poll vs snmp_exporter", f"{vs.text(1, 2)}x",
                           "<= 8x", vs.median <= 8))
        for kind, rows in (("ICMP", d["icmp_scale"]), ("SNMP", d["snmp_scale"])):
            for r in (r for r in rows if r["dead"]):
                late = r["lateness"].get(kind.lower(), {}).get("p99", math.nan)
                skipped = r["skipped"][kind.lower()]
                checks.append((f"{kind}, 20 % dead: healthy lateness p99, skipped",
                               f"{_ms(late, 0)} ms, {skipped:.0f}", "< 1 s, 0",
                               late < 1 and skipped == 0))
        if "exposition" in d:
            x = d["exposition"]["gzip"]
            checks.append((f"/metrics of {d['exposition']['devices']:,} devices (gzip)",
                           f"{x['s']:.2f} s", "<= 1.0 s", x["s"] <= 1.0))
            checks.append(("event-loop lag during it", f"{x['lag_max'] * 1e3:.0f} ms",
                           "<= 20 ms", x["lag_max"] <= 0.020))
        if "final" in d:
            r = d["final"]
            loop = r["rtt"].get("loopback", {}).get("p99", math.nan)
            truth = r["rtt"].get("truth", {}).get("p99", math.nan) - TRUTH
            load = f"{r['icmp_targets']:,} ICMP + {r['snmp_targets']:,} SNMP"
            checks.append((f"loopback RTT p99 ({load})", f"{_ms(loop)} ms", "<= 0.3 ms",
                           loop <= 0.0003))
            checks.append((f"20 ms target's p99 excess ({load})", f"{_ms(truth)} ms",
                           "<= 0.3 ms", truth <= 0.0003))
        d["checks"] = checks
        print(f"\n== Figures to reach (issue 9); run took {elapsed / 60:.0f} min, load average "
              f"at the end {load_end}")
        for name, got, wanted, ok in checks:
            print(f"  {'MET ' if ok else 'NOT '} {name:<58} {got:>22}  (target {wanted})")
