"""HTTP: what the daemon serves.

    server   the aiohttp application: /metrics (streamed, gzip), /-/healthy, /-/ready,
             /-/reload, the status page
"""
