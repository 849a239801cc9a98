"""Polling on a schedule, behind one declared contract.

    prober     the Prober protocol (and its optional fast path), Result, Failed, Outcome,
               and run_poll(): one poll under its deadline, errors mapped to Failed
    schedule   the Scheduler: one timer per target at a stable phase, bounded concurrency
"""
