"""SNMP polling with device profiles (docs/profiles.md).

    prober      SnmpProber: the daemon's Prober for probe="snmp"
    poller      one poll of one device: requests, refreshes, partial results
    session     per-target sessions: v1/v2c on community.py, SNMPv3 on pysnmp engines
    community   v1/v2c requests over one shared UDP socket per address family
    ber         the v1/v2c message codec (BER by hand: pyasn1 was most of a poll's CPU)
    client      the narrow client interface and the request patterns (GET, column walks)
    recorded    a recording served from memory through that interface (pure tests)
    profile     the profile format, checked against netwatch/base/catalog.py; profiles/*.yml
                the shipped profiles
    decode      polled values -> samples, as a profile says (pure)
    detect      `profile: auto`
    uptime      uptime sources and a jitter- and wrap-proof boot time
    result      SnmpResult, and the per-target series rendered from it
    oid, snmprec  plain OIDs and values; snmpsim's recording format
    oneshot     `netwatch probe --snmp`
"""
