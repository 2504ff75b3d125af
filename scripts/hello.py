"""Example script job: prints one line and exits 0. Run as: python3 scripts/hello.py"""

from datetime import datetime, timezone

# timezone.utc rather than datetime.UTC: jobs run whatever python3 is on PATH, maybe < 3.11.
now = datetime.now(timezone.utc)  # noqa: UP017
print("Hello from DTS worker at", now.isoformat(timespec="milliseconds"))
