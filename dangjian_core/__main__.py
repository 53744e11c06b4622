from dangjian_core.cli import main

raise SystemExit(main())
