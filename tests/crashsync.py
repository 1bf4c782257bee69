"""A slow fake Telegram for the crash-safety test: pages and sends take long enough to be killed inside.

Decisions:
- Subclasses `tests.fakes.telegram.TelegramFake` instead of changing it: only the crash test needs the
  artificial delays. `getUpdates` waits `page_delay` before answering (so a sync of thousands of
  updates spans many kills); `sendMessage` records the send first and answers only after `send_delay`,
  which is exactly the window in which a killed sender has delivered but not yet stored "sent".
- Same CLI as the other fakes plus the delays: `python -m tests.crashsync --port 0 --seed 2000
  --page-delay 0.2 --send-delay 1.0` prints "READY <url>". Its `/__fake__/state` adds how many
  getUpdates calls were answered, so a test can see that the daemon is actually fetching.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from tests.fakes import Reply, Request, serve_until_stopped
from tests.fakes.telegram import TelegramFake


class SlowTelegramFake(TelegramFake):
    def __init__(self, lifetime: float = 300.0, page_delay: float = 0.0, send_delay: float = 0.0):
        # A short long-poll cap: a killed daemon's abandoned poll must not hold the updates lock long.
        super().__init__(lifetime, max_poll=0.5)
        self.page_delay = page_delay
        self.send_delay = send_delay
        self.pages = 0

    def handle(self, req: Request) -> Reply:
        method = req.path.rsplit("/", 1)[-1]
        if method == "getUpdates" and self.page_delay:
            time.sleep(self.page_delay)
        reply = super().handle(req)
        if method == "getUpdates":
            with self.lock:
                self.pages += 1
        if method == "sendMessage" and self.send_delay:
            time.sleep(self.send_delay)  # recorded already: the answer is what gets lost
        return reply

    def state(self) -> dict[str, Any]:
        return {**super().state(), "pages": self.pages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a slow fake Telegram on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=180.0)
    parser.add_argument("--page-delay", type=float, default=0.0)
    parser.add_argument("--send-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    fake = SlowTelegramFake(args.lifetime, args.page_delay, args.send_delay)
    serve_until_stopped(fake, args.seed, args.port)


if __name__ == "__main__":
    main()
