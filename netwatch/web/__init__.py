"""HTTP: what the daemon serves, and what stands around it.

    server      the application: /-/healthy, /-/ready, /-/reload; the routes of the
                modules below (pages, API, public page, /metrics)
    scrape      GET /metrics: rendered and gzipped in its own pool, streamed, abandoned when
                the client stops reading, at most MAX_SCRAPES at once
    views       what the pages and the API show, built from the daemon's state (one source)
    sitelist    /api/v1/sites kept built between changes (served from memory)
    api         /api/v1/sites, /api/v1/sites/<kode>, /api/v1/events (docs/api/*.schema.json)
    pages       the NOC view at / (the inline map) and /site/<kode>; static/ their script,
                CSS, and map.json (netwatch.generators.webmap)
    public      /public, and the app of the public listener (`public_listen:`)
    serve       the server put together: the routes inside the modules below, on a listen
                address (WebOptions: web config, lifecycle flag, limits); the public
                listener gets the limits only
    webconfig   --web.config.file (exporter-toolkit format): TLS via ssl, bcrypt users
    auth        basic auth with exporter-toolkit's cache (one bcrypt per credentials)
    policy      the lifecycle flag, cross-origin changes refused, failed reloads redacted
    connections the connection cap (longest-idle first out), request-head timeout, limits
    quiet       client errors without tracebacks, repeated lines rate-limited
"""
