"""The capture's own process: it makes the batches of the journal segments a service worker
seals and sends them to the lake, so that a worker's interpreter does nothing for the capture
but one journal write per request and a rename per flush.

    worker ──seal──► <spill>/_journal/*.sealed ──this process──► spill folder ──► lake scored/

Each worker starts one (``CaptureProcess``) with a pipe on its standard input. When the worker
stops or dies the pipe closes, and this process makes and sends what is left, for at most
``FRAUD_CAPTURE_CLOSE_TIMEOUT_S``, then exits; what it could not send waits in the spill folder
for the next start. A Ctrl-C is the worker's to handle (it closes the pipe); a SIGTERM ends it
the same way. Its counts go to the worker's Prometheus folder, so ``/metrics`` shows them.

    python -m service.capture_process      (started by the service, not by hand)
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from fraud_detection.config import get_settings
from service.capture import build_capture

logger = logging.getLogger("fraud_detection.serving")


def _until_the_pipe_closes(finished: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        finished.set()


def main() -> None:
    finished = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: finished.set())
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s capture process: %(message)s"
    )
    threading.Thread(target=_until_the_pipe_closes, args=(finished,), daemon=True).start()
    settings = get_settings()
    capture = build_capture(settings, companion=None).start()
    finished.wait()
    left = capture.close(settings.capture_close_timeout_s)
    logger.info("stopped; %d batch files wait in the spill folder", left)


if __name__ == "__main__":
    main()
