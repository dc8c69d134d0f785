"""A heartbeat for work that says nothing for a while: elapsed time on stderr every few seconds."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def heartbeat(label: str, every_s: float = 10.0) -> Iterator[None]:
    """Print ``... label: N s`` on stderr every ``every_s`` seconds while the block runs."""
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not done.wait(every_s):
            print(f"... {label}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
