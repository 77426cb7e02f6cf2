"""The capture's own process: it makes the batches of the journal segments a service worker
seals and sends them to the lake, so that a worker's interpreter does nothing for the capture
but one journal write per request and a rename per flush.

    worker ──seal──► <spill>/_journal/*.sealed ──this process──► spill folder ──► lake scored/

Each worker starts one (``CaptureProcess``) with a pipe on its standard input. When the worker
stops or dies the pipe closes, and this process makes and sends what is left, for at most
``FRAUD_CAPTURE_CLOSE_TIMEOUT_S``, then exits; what it could not send waits in the spill folder
for the next start. SIGINT and SIGTERM are the worker's to handle: sent to the whole process
group (a Ctrl-C, a stop), they would end this process before its worker sealed the last
segment. Its counts go to the worker's Prometheus folder, so ``/metrics`` shows them.

    python -m service.capture_process      (started by the service, not by hand)
"""

from __future__ import annotations

import logging
import os
import signal

from fraud_detection.config import get_settings
from service.capture import build_capture

logger = logging.getLogger("fraud_detection.serving")


def _until_the_pipe_closes() -> None:
    """Block until the worker closes its end of the pipe (or dies)."""
    while True:
        try:
            if not os.read(0, 4096):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s capture process: %(message)s"
    )
    settings = get_settings()
    capture = build_capture(settings, companion=None).start()
    _until_the_pipe_closes()
    left = capture.close(settings.capture_close_timeout_s)
    logger.info("stopped; %d batch files wait in the spill folder", left)


if __name__ == "__main__":
    main()
