"""netwatch: network monitoring for city networks (ICMP + SNMP -> site states -> Prometheus)."""

__version__ = "0.1.0"
