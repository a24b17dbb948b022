from fangcang.cli import main

raise SystemExit(main())
