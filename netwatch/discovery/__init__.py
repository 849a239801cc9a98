"""Discovery: what the devices say about their neighbours, against the configured topology.

    topology    pure: match neighbour rows to configured devices, find contradictions and
                gaps (parent, upstream, missing parent, missing upstream)
    drift       the daemon's check: netwatch_topology_mismatch from the SNMP polls
    proposal    the YAML `netwatch discover` proposes (it never edits a config)
    walk        `netwatch discover`: read the neighbours of given or configured addresses
    sweep       `netwatch discover --sweep CIDR`: a bounded, rate-limited ICMP sweep and
                SNMP identification of what answers

Discovery never contacts an address it learned from a neighbour table: only addresses
given on the command line, in the config, or inside a swept range the operator names.
"""
