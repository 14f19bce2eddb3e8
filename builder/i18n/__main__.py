"""`python -m builder.i18n extract`: see builder/i18n/extract.py."""

from builder.i18n.extract import main

raise SystemExit(main())
