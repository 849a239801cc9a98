"""The service: everything `netwatch run` wires together.

    service          Daemon: probers, scheduler, state, sites and web; signals and reloads
    inventory_file   the config file read into an inventory, here or in a child process
    sdnotify         READY/RELOADING/STOPPING/WATCHDOG to systemd
"""
