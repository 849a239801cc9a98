"""From polls to verdicts: per target, then per site.

    targets       each target's up/down with hysteresis, its counters and core series
    verdict       the pure per-site decision (up, degraded, down, unreachable, maintenance)
    engine        SiteEngine: runs the verdict after polls, topology, canaries, site series
    maintenance   which maintenance window (one-off or weekly) is active now
"""
