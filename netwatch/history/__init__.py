"""History: what the daemon remembers across restarts, and what it keeps of the last day.

    events        SiteEvent: one site's state transition, with its cause and evidence
    store         HistoryStore: the SQLite file (stdlib sqlite3, WAL), used from one thread
    journal       History: the daemon's front of the store: a day of events in memory, writes
                  batched off the loop, a corrupt file or a full disk survived (events kept in
                  memory until the file is writable again), retention, restore at start
    availability  availability per site and kecamatan from transitions, as the SLA rules
                  define it (up + degraded over time not in maintenance, daemon running)
    recent        RecentSeries: RTT and loss per device, one-minute slots over 24 hours, in
                  memory (the site page's sparklines)

Prometheus stays the store for time series; this is the store for events.
"""
