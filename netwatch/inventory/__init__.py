"""The inventory: what the daemon polls, built once per (re)load from a validated config.

    model   Device, Site, Upstream, Canary, Target, Inventory and their policies (frozen)
    build   build_inventory(config, sources, profiles): layered settings, checked once
    shard   `--shard K/N`: whole upstream groups per instance by rendezvous hashing
"""
