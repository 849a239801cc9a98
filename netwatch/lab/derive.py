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
LLDP_REM: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)  # lldpRemEntry
LLDP_REM_MAN_ADDR: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 2, 1)  # lldpRemManAddrEntry
MTXR_NEIGHBOR_IFINDEX: Oid = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 11, 1, 1, 8)
CDP_CACHE: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)  # cdpCacheEntry
# The topology lab's devices (netwatch/lab/topologies.py) and their own MACs, as their real
# recordings give them (IF-MIB::ifPhysAddress): a neighbour row names a device this way.
POP_A_SWITCH = ("routeros_crs317", "CC:2D:E0:A3:3D:D5", "sfp-sfpplus1")  # ifIndex 1
POP_B_SWITCH = ("swos", "6C:3B:6B:F6:24:E6", "Port1")  # ifIndex 1
RAPI_AP = ("unifi_nanohd", "B4:FB:E4:2A:3F:1C", "eth0")  # ifIndex 2
GESER_AP = ("airos_airos8", "78:8A:20:C9:66:B2", "eth0")  # ifIndex 2
KURANG_AP = ("unifi_unifi", "D0:21:F9:20:00:69", "eth0")  # ifIndex 2
UNKNOWN_RADIO_ADDRESS = "127.77.0.99"  # advertised by the unknown radio; never polled


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


def _set(records: list[Record], changes: dict[Oid, tuple[str, str]]) -> list[Record]:
    """Records with these OIDs given (tag, value): replaced where present, else added."""
    kept = [r for r in records if r[0] not in changes]
    return kept + [(oid, tag, value) for oid, (tag, value) in changes.items()]


def _lldp_row(index: Oid, chassis: str, port: str, name: str = "") -> dict[Oid, tuple[str, str]]:
    """The columns of one lldpRemTable row as RouterOS fills them: chassis id subtype 4
    (a MAC, which RouterOS's recordings hold as text), port id subtype 5 (a name)."""
    return {(*LLDP_REM, 4, *index): ("2", "4"), (*LLDP_REM, 5, *index): ("4", chassis),
            (*LLDP_REM, 6, *index): ("2", "5"), (*LLDP_REM, 7, *index): ("4", port),
            (*LLDP_REM, 9, *index): ("4", name)}


def topology_rapi_router(records: list[Record]) -> list[Record]:
    """The topology lab's tidy site: its router (hEX RB750Gr3) sees its POP and its AP.

    Its two lldpRemTable rows keep their place (local port, remote index, system name and
    description, management address) but name the lab's devices by their real MACs:
    row 0.6.2 (on eth5) the POP A switch (routeros_crs317: chassis CC:2D:E0:A3:3D:D5, port
    sfp-sfpplus1), row 0.10.1 (on eoip1) its access point (unifi_nanohd: B4:FB:E4:2A:3F:1C,
    port eth0). It adds row 0.3.3 on ether2 (ifIndex 3, with mtxrNeighborInterfaceID.3 = 3)
    for the access point of the site `geser` (airos_airos8: 78:8A:20:C9:66:B2, port eth0):
    that AP is cabled here while the config puts it behind geser's router (parent drift).
    Why: no recording in the pool has neighbours that are other recordings' devices.
    """
    pop, ap, other = POP_A_SWITCH, RAPI_AP, GESER_AP
    changes = {(*LLDP_REM, 5, 0, 6, 2): ("4", pop[1]), (*LLDP_REM, 7, 0, 6, 2): ("4", pop[2]),
               (*LLDP_REM, 5, 0, 10, 1): ("4", ap[1]), (*LLDP_REM, 7, 0, 10, 1): ("4", ap[2])}
    changes |= _lldp_row((0, 3, 3), other[1], other[2])
    changes[(*MTXR_NEIGHBOR_IFINDEX, 3)] = ("2", "3")
    return _set(records, changes)


def topology_geser_router(records: list[Record]) -> list[Record]:
    """The topology lab's drifted site: its router (RB433GL) hangs off the other POP.

    lldpRemTable row 0.2.1 (on eth2, "trunk: sw72") names the POP B switch (swos: chassis
    6C:3B:6B:F6:24:E6, port Port1) instead of the Omada switch it recorded; the config says
    upstream pop-a (upstream drift). Row 0.5.2 (a DynaDish on wifi1) stays a real unknown
    neighbour. Why: a router moved to another POP, which no recording shows.
    """
    pop = POP_B_SWITCH
    return _set(records, {(*LLDP_REM, 5, 0, 2, 1): ("4", pop[1]),
                          (*LLDP_REM, 7, 0, 2, 1): ("4", pop[2])})


def topology_kurang_router(records: list[Record]) -> list[Record]:
    """The topology lab's site with a gap: its router (RB951G, RouterOS 7) sees its POP,
    its access point (which the config gives no parent) and a radio nobody configured.

    lldpRemTable row 0.0.6 (on ether1-trunk) names the POP A switch (CC:2D:E0:A3:3D:D5,
    port sfp-sfpplus2), row 0.0.15 its access point (unifi_unifi: D0:21:F9:20:00:69, port
    eth0; missing parent). Row 0.0.23 (on vlan254) gets lldpRemSysName "radio-baru" sent as
    real agents sometimes do, padded with NULs and a junk byte (hex 726164696f2d62617275
    000000ff), and a management address in RouterOS 7's form (lldpRemManAddrTable columns
    1 and 2 at the row's own index: type 1, "127.77.0.99"), which discovery must print and
    never contact. Rows 0.0.21 and 0.0.28 stay real unknown neighbours.
    Why: no recording has a neighbour whose name needs cleaning, or an unknown device
    advertising an address on this machine.
    """
    pop, ap = POP_A_SWITCH, KURANG_AP
    return _set(records, {
        (*LLDP_REM, 5, 0, 0, 6): ("4", pop[1]), (*LLDP_REM, 7, 0, 0, 6): ("4", "sfp-sfpplus2"),
        (*LLDP_REM, 5, 0, 0, 15): ("4", ap[1]), (*LLDP_REM, 7, 0, 0, 15): ("4", ap[2]),
        (*LLDP_REM, 9, 0, 0, 23): ("4x", "726164696f2d62617275000000ff"),
        (*LLDP_REM_MAN_ADDR, 1, 0, 0, 23): ("2", "1"),
        (*LLDP_REM_MAN_ADDR, 2, 0, 0, 23): ("4", UNKNOWN_RADIO_ADDRESS)})


def cisco_cdp(records: list[Record]) -> list[Record]:
    """CISCO-CDP-MIB's cdpCacheTable on the Catalyst 2950, which recorded none.

    Two rows, index ifIndex.deviceIndex, with the values of two real neighbours from the
    CRS317's LLDP table (routeros_crs317): on Gi0/1 (ifIndex 10101) the RB3011
    "router.jason.corp.local", port bridge1/ether1, platform "MikroTik", address 4 bytes
    7f4d0301 (127.77.3.1); on Gi0/2 (10102) the IP phone "SEP001795B0F381" with its
    device id padded with NULs as some firmware sends it (hex 5345503030313739354230463338
    310000), port "Port 1", platform "Cisco IP Phone 7941", address 7f4d0302. Why: no
    recording in the pool has CDP, and the cisco profile reads it.
    """
    rows = {(10101, 1): ("4", "router.jason.corp.local", "bridge1/ether1", "MikroTik",
                         "7f4d0301"),
            (10102, 2): ("4x", "5345503030313739354230463338310000",
                         "Port 1", "Cisco IP Phone 7941", "7f4d0302")}
    changes: dict[Oid, tuple[str, str]] = {}
    for index, (tag, device, port, platform, address) in rows.items():
        changes[(*CDP_CACHE, 3, *index)] = ("2", "1")  # cdpCacheAddressType ip
        changes[(*CDP_CACHE, 4, *index)] = ("4x", address)
        changes[(*CDP_CACHE, 6, *index)] = (tag, device)
        changes[(*CDP_CACHE, 7, *index)] = ("4", port)
        changes[(*CDP_CACHE, 8, *index)] = ("4", platform)
    return _set(records, changes)


DERIVATIONS = (
    Derivation("airos_airos8_dupnames", "airos_airos8", duplicate_ifnames),
    Derivation("airos_airos8_station", "airos_airos8", airos_station),
    Derivation("routeros_16peers", "routeros", routeros_16_peers),
    Derivation("unifi_nanohd_ccq", "unifi_nanohd", unifi_vap_ccq),
    Derivation("topology_rapi_rtr", "routeros_rb750gr3", topology_rapi_router),
    Derivation("topology_geser_rtr", "routeros_rb433gl", topology_geser_router),
    Derivation("topology_kurang_rtr", "routeros_vlans", topology_kurang_router),
    Derivation("ios_cdp", "ios", cisco_cdp),
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
