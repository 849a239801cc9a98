"""Trouble that unfolds: what the lab does to a zone's devices, step by step (pure data).

A story is a list of steps, each at a time after the story begins: a reading a device's agent
serves changes (netwatch.lab.responder), the zone's echo goes off, its loss rises (nftables).
The times are multiples of the SNMP interval (`pace`), so every step is seen by a poll.

    fading        a point-to-point station's signal, CCQ and rate fall 3 dB, 10 points, 20 %
                  a step until 15 dB under their normal, then a fifth of its echoes are lost
    lte_weak      an LTE router's RSRP falls from -105 to -119 dBm and its SINR from 11 to
                  -1 dB, then a fifth of its echoes are lost
    power_cut     the router's supply voltage dips from 24.3 to 19 V; two polls later the
                  router and its access point go dark (agents silent, echo off)
    storage_full  the router's flash fills to 99 %, then a fifth of its echoes are lost
    saturated     a stream fills the router's uplink (a token bucket with a deep queue): the
                  uplink runs at its capacity and every echo waits in the queue

The routers of these stories serve a composed recording (plan.STORY_RECORDING): a real RB750Gr3
(voltage, flash, IF-MIB, uptime) with the radio rows of a real DynaDish station or the LTE
rows of a real LtAP mini (recordings/SOURCES.md), so each has the readings its story changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.lab.plan import TroubleKind

# MIKROTIK-MIB, at the recordings' own row indexes
_STATION = "1.3.6.1.4.1.14988.1.1.1.1.1"  # mtxrWlStatTable, row 23 (the DynaDish's wlan)
SIGNAL, TX_RATE, RX_RATE = f"{_STATION}.4.23", f"{_STATION}.2.23", f"{_STATION}.3.23"
TX_CCQ, RX_CCQ = f"{_STATION}.9.23", f"{_STATION}.10.23"
_LTE = "1.3.6.1.4.1.14988.1.1.16.1.1"  # mtxrLTEModemTable, row 3 (the LtAP's lte1)
RSRP, SINR = f"{_LTE}.4.3", f"{_LTE}.7.3"
VOLTAGE = "1.3.6.1.4.1.14988.1.1.3.8.0"  # mtxrHlVoltage (dV)
VOLTAGE_GAUGE = "1.3.6.1.4.1.14988.1.1.3.100.1.3.13"  # mtxrGaugeValue of "voltage" (dV)
DISK_USED = "1.3.6.1.2.1.25.2.3.1.6.131072"  # hrStorageUsed of "system disk" (16384 kB)
LOSS = 0.2


@dataclass(frozen=True)
class Step:
    at: float  # seconds after the story begins
    device: str = "rtr"
    set: tuple[tuple[str, str, str], ...] = ()  # (OID, snmprec tag, value) served from now
    silent: bool | None = None  # the device's agent stops (True) or starts (False) answering
    echo: bool | None = None  # the zone's kernel answers ICMP echo
    loss: float | None = None  # share of echo requests the zone drops (0: none)
    blast: bool = False  # the zone's traffic stream starts (saturated)


def _fading(pace: float) -> list[Step]:
    steps = [Step(pace * 1.5 * n, set=(
        (SIGNAL, "2", str(-47 - 3 * n)), (TX_CCQ, "65", str(100 - 10 * n)),
        (RX_CCQ, "65", str(80 - 8 * n)),
        (TX_RATE, "66", str(150_000_000 - 20_000_000 * n)),
        (RX_RATE, "66", str(90_000_000 - 12_000_000 * n)))) for n in range(1, 6)]
    return [*steps, Step(pace * 1.5 * 4, loss=LOSS)]


def _lte_weak(pace: float) -> list[Step]:
    levels = [(-110, 6), (-114, 2), (-119, -1)]
    steps = [Step(pace * 1.5 * n, set=((RSRP, "2", str(rsrp)), (SINR, "2", str(sinr))))
             for n, (rsrp, sinr) in enumerate(levels, start=1)]
    return [*steps, Step(pace * 1.5 * 3, loss=LOSS)]


def _power_cut(pace: float) -> list[Step]:
    dip = Step(0.0, set=((VOLTAGE, "2", "190"), (VOLTAGE_GAUGE, "2", "190")))
    dark = 2.5 * pace  # two polls see the dip, then the supply gives out
    return [dip, Step(dark, echo=False), Step(dark, silent=True),
            Step(dark, device="ap1", silent=True)]


def _storage_full(pace: float) -> list[Step]:
    return [Step(0.0, set=((DISK_USED, "2", "16200"),)), Step(pace * 1.5, loss=LOSS)]


def _saturated(pace: float) -> list[Step]:
    return [Step(0.0, blast=True)]


def story(kind: TroubleKind, pace: float) -> list[Step]:
    """The steps of a kind of trouble, ordered by time; [] for trouble that does not unfold."""
    build = {"fading": _fading, "lte_weak": _lte_weak, "power_cut": _power_cut,
             "storage_full": _storage_full, "saturated": _saturated}.get(kind)
    return sorted(build(pace), key=lambda s: s.at) if build else []
