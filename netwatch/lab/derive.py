"""Recordings derived from real ones, for what no real recording has.

Each derivation starts from a real recording of netwatch/lab/recordings/ (SOURCES.md says
where those come from), adds or changes only the rows its docstring lists, and says why.
Nothing here writes a whole device; every other row is the real device's, byte for byte.
The derived files are committed beside the real ones (community = file stem) and a test
checks they are what this module makes of their bases:

    python -m netwatch.lab.derive            # rewrite the derived files
    python -m netwatch.lab.derive --check    # exit 1 when a committed file is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netwatch.snmp.oid import Oid
from netwatch.snmp.snmprec import Record, format_records, read_records, sorted_records

RECORDINGS = Path(__file__).parent / "recordings"

IF_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_COUNTERS = (10, 11, 16, 17)  # ifIn/OutOctets, ifIn/OutUcastPkts
MTXR_RTAB: Oid = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 2, 1)  # mtxrWlRtabEntry
MTXR_AP_CLIENTS: Oid = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 3, 1, 6)  # mtxrWlApClientCount
MTXR_AP_NOISE: Oid = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 3, 1, 9)  # mtxrWlApNoiseFloor
UBNT_WLSTAT: Oid = (1, 3, 6, 1, 4, 1, 41112, 1, 4, 5, 1)  # ubntWlStatEntry
UBNT_RADIO_DISTANCE: Oid = (1, 3, 6, 1, 4, 1, 41112, 1, 4, 1, 1, 7, 1)  # ubntRadioDistance.1
UBNT_STA: Oid = (1, 3, 6, 1, 4, 1, 41112, 1, 4, 7, 1)  # ubntStaEntry
UNIFI_VAP: Oid = (1, 3, 6, 1, 4, 1, 41112, 1, 6, 1, 2, 1)  # unifiVapEntry


@dataclass(frozen=True)
class Derivation:
    name: str  # the derived file's stem (its community)
    base: str  # the real recording it starts from
    change: Callable[[list[Record]], list[Record]]

    def records(self) -> list[Record]:
        return sorted_records(self.change(read_records(RECORDINGS / f"{self.base}.snmprec")))

    def text(self) -> str:
        header = (f"# derived from {self.base}.snmprec by netwatch/lab/derive.py "
                  f"({self.change.__name__}); see that function and SOURCES.md\n")
        return header + format_records(self.records())


def _values(records: list[Record]) -> dict[Oid, str]:
    return {oid: value for oid, _, value in records}


def duplicate_ifnames(records: list[Record]) -> list[Record]:
    """airOS 8 firmware that lists eth0, ath0 and br0 twice in ifTable (LiteBeam 5AC).

    Adds ifTable rows 10, 11 and 12: every ifTable column of rows 2 (eth0), 7 (ath0) and
    8 (br0), with ifIndex set to the new index and the four octet and packet counters
    halved, so that a poller merging rows by name shows the wrong numbers. Why: real devices
    list a name twice (bridges, VLAN sub-interfaces, this firmware); no recording in the
    pool does, and every row must stay a series of its own.
    """
    copies = {2: 10, 7: 11, 8: 12}
    added: list[Record] = []
    for oid, tag, value in records:
        if oid[:len(IF_ENTRY)] != IF_ENTRY or len(oid) != len(IF_ENTRY) + 2:
            continue
        column, index = oid[-2], oid[-1]
        if index not in copies:
            continue
        new = copies[index]
        if column == 1:
            value = str(new)
        elif column in IF_COUNTERS:
            value = str(int(value) // 2)
        added.append(((*IF_ENTRY, column, new), tag, value))
    return records + added


def airos_station(records: list[Record]) -> list[Record]:
    """The airOS station table (ubntStaTable) of the LiteBeam 5AC, which links to one AP.

    Adds one ubntStaEntry row, index wlan 1 + the peer's MAC. The recording has no MAC of
    the AP (ubntWlStatApMac is absent), so the row uses 02:00:00:00:00:01, a locally
    administered placeholder. Its values are the link's own, read from the same recording:
    ubntStaSignal = ubntWlStatSignal.1, ubntStaNoiseFloor = ubntWlStatNoiseFloor.1,
    ubntStaDistance = ubntRadioDistance.1, ubntStaCcq = ubntWlStatCcq.1 x 10 (the station
    table counts CCQ in tenths of a percent, as a LibreNMS dump of a live airOS 8 shows:
    "ubntStaCcq 333"), ubntStaTxRate/RxRate = ubntWlStatTxRate/RxRate.1 (bit/s in both).
    Why: no recording in the pool has the airOS station table.
    """
    values = _values(records)
    index = (1, 2, 0, 0, 0, 0, 1)

    def stat(column: int) -> str:
        return values[(*UBNT_WLSTAT, column, 1)]

    rows = {3: stat(5), 4: stat(8), 5: values[UBNT_RADIO_DISTANCE],
            6: str(int(stat(7)) * 10), 11: stat(9), 12: stat(10)}
    return records + [((*UBNT_STA, column, *index), "2", value)
                      for column, value in rows.items()]


def routeros_16_peers(records: list[Record]) -> list[Record]:
    """The hAP ac lite as a point-to-multipoint base with 16 registered radios.

    The recording's registration table has 11 peers (7 on wlan1, 4 on wlan4) and only
    mtxrWlRtabStrength. This adds:
    - 5 peers on wlan1 (ifIndex 1): the MACs of the first 5 recorded peers with the locally
      administered bit set, and those peers' strengths; mtxrWlApClientCount.1 goes 7 -> 12;
    - for all 16 peers mtxrWlRtabSignalToNoise = strength - the interface's noise floor
      (mtxrWlApNoiseFloor, -117 dBm on wlan1; wlan4, a virtual AP, reports 0, so wlan1's is
      used), except the last added peer, which gets 0: RouterOS's "no measurement";
    - mtxrWlRtabTxRate/RxRate = clamp((SNR - 5) x 3, 6.5, 144.4) Mbit/s and 2/3 of that
      (802.11n one stream, a rate that falls with the SNR).
    Why: no recording has a radio with 16 peers and the rate/SNR columns (bench/snmp.py
    measures the cost of per-peer series on it; the cap defaults to 16).
    """
    values = _values(records)
    strength = {oid[len(MTXR_RTAB) + 1:]: int(value) for oid, value in values.items()
                if oid[:len(MTXR_RTAB) + 1] == (*MTXR_RTAB, 3)}
    peers = dict(strength)
    for index in list(strength)[:5]:
        new = (index[0] | 0x02, *index[1:6], 1)
        peers[new] = strength[index]
    noise = int(values[(*MTXR_AP_NOISE, 1)])
    out = [r for r in records if r[0] != (*MTXR_AP_CLIENTS, 1)]
    wlan1 = sum(1 for index in peers if index[6] == 1)
    out.append(((*MTXR_AP_CLIENTS, 1), "65", str(wlan1)))
    last = list(peers)[-1]
    for index, signal in peers.items():
        if index not in strength:
            out.append(((*MTXR_RTAB, 3, *index), "2", str(signal)))
        snr = 0 if index == last else signal - noise
        rate = min(144.4, max(6.5, (signal - noise - 5) * 3.0))
        out.append(((*MTXR_RTAB, 8, *index), "66", str(int(rate * 1e6))))
        out.append(((*MTXR_RTAB, 9, *index), "66", str(int(rate * 2e6 / 3))))
        out.append(((*MTXR_RTAB, 12, *index), "2", str(snr)))
    return out


def unifi_vap_ccq(records: list[Record]) -> list[Record]:
    """UniFi per-VAP CCQ (unifiVapCcq) on the UAP-nanoHD, which does not report it.

    Adds unifiVapCcq for its 4 VAPs, in tenths of a percent as UniFi firmware counts it
    (LibreNMS divides by 10): VAP 1 (4 stations) 873, VAP 2 and 4 (the vwire VAPs, no
    stations) 0, VAP 3 (14 stations) 1200, the over-100 % reading some firmware gives
    (LibreNMS caps it at 100; netwatch drops it as out of range). Why: no UniFi recording in
    the pool has the CCQ column.
    """
    ccq = {1: 873, 2: 0, 3: 1200, 4: 0}
    return records + [((*UNIFI_VAP, 3, index), "2", str(value)) for index, value in ccq.items()]


DERIVATIONS = (
    Derivation("airos_airos8_dupnames", "airos_airos8", duplicate_ifnames),
    Derivation("airos_airos8_station", "airos_airos8", airos_station),
    Derivation("routeros_16peers", "routeros", routeros_16_peers),
    Derivation("unifi_nanohd_ccq", "unifi_nanohd", unifi_vap_ccq),
)


def stale() -> list[Path]:
    """Derived files that differ from what their derivation makes now."""
    out = []
    for derivation in DERIVATIONS:
        path = RECORDINGS / f"{derivation.name}.snmprec"
        if not path.exists() or path.read_text(encoding="utf-8") != derivation.text():
            out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        paths = stale()
        for path in paths:
            print(f"stale: {path} (run: python -m netwatch.lab.derive)", file=sys.stderr)
        return 1 if paths else 0
    for derivation in DERIVATIONS:
        path = RECORDINGS / f"{derivation.name}.snmprec"
        path.write_text(derivation.text(), encoding="utf-8")
        print(f"{path}: {len(derivation.records())} records from {derivation.base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
