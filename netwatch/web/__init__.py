"""HTTP: what the daemon serves, and what stands around it.

    server      the application: /-/healthy, /-/ready, /-/reload, the status page (routes)
    scrape      GET /metrics: rendered and gzipped in its own pool, streamed, abandoned when
                the client stops reading, at most MAX_SCRAPES at once
    serve       the server put together: the routes inside the modules below, on a listen
                address (WebOptions: web config, lifecycle flag, limits)
    webconfig   --web.config.file (exporter-toolkit format): TLS via ssl, bcrypt users
    auth        basic auth with exporter-toolkit's cache (one bcrypt per credentials)
    policy      the lifecycle flag, cross-origin changes refused, failed reloads redacted
    connections the connection cap (longest-idle first out), request-head timeout, limits
    quiet       client errors without tracebacks, repeated lines rate-limited
"""
