from netwatch.cli import main

raise SystemExit(main())
