"""The config file: YAML with line marks, pydantic models, secrets.

    files      every file the config names, read bounded: regular files only, size caps,
               UTF-8 without NUL (errors never quote a secret's bytes)
    yamlload   YAML 1.2 reading that keeps each node's file and line, with bounded nesting
               and alias expansion
    types      durations, bandwidths, addresses, names, secrets ({env}, {file}, {credential})
    model      the pydantic models of every section (`extra="forbid"`)
    read       read_config(path): models validated, errors as `FILE:LINE: path: message`
    thresholds the thresholds file (thresholds.yml, shipped here, and a city's override over
               it): degraded levels, rule values, dashboard colours; read by the inventory,
               the rule generator and grafana/dashgen
"""
