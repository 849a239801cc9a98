"""Offline tools: they read inputs and write files a person reviews or deploys.

    rules       Prometheus rule files (and the test Alertmanager config) from the templates
                in rule_templates/ and the thresholds file (netwatch.config.thresholds)
    webmap      the NOC page's map (netwatch/web/static/map.json) from the offline GeoJSON
    metricdoc   the metric tables of README.md and docs/profiles.md, from the catalog
    importcsv   a spreadsheet of sites -> `sites:` YAML
    report      the monthly SLA report from Prometheus' HTTP API, as CSV or HTML
"""
