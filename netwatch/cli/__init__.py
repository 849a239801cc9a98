"""The `netwatch` command line: `main` builds the parser, one module per command.

    main           the parser, logging set-up, dispatch
    run            netwatch run CONFIG [--shard K/N]
    check_config   netwatch check-config CONFIG
    schema         netwatch schema
    probe          netwatch probe ADDRESS... [--snmp]   (icmp/oneshot.py, snmp/oneshot.py)
    discover       netwatch discover ADDRESS... | --config FILE | --sweep CIDR  (discovery/)
    import_csv     netwatch import-csv FILE
    report         netwatch report --month YYYY-MM --prometheus URL
    demo           netwatch demo
"""
