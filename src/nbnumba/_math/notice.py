"""A one-line notice, once per process, when a first call compiles for long.

Numba compiles nbnumba's kernels for the machine's CPU on first use and
caches them on disk. That first call can take seconds to a minute; without a
word it looks like a hang. A listener on Numba's ``numba:compile`` event
(sent only on a cache miss, never when the disk cache serves the code) arms
a timer when the outermost compilation of an nbnumba function starts; if
that compilation is still running after ``DELAY`` seconds, the ``nbnumba``
logger says so once. Logging (WARNING level, which Python shows on stderr
when no handler is configured) rather than a bare print, so that
applications can route or silence it like any library's messages;
``NBNUMBA_QUIET=1`` silences it too.
"""
import logging
import os
import threading

from numba.core import event

#: Seconds a compilation runs before the notice is given.
DELAY = 1.0
LOGGER = logging.getLogger("nbnumba")


class _Notice(event.Listener):
    def __init__(self, cached):
        self.cached = cached
        self.depth = 0
        self.timer = None
        self.done = False
        self.lock = threading.Lock()

    def on_start(self, ev):
        if self.done or not _ours(ev.data):
            return
        with self.lock:
            self.depth += 1
            if self.depth == 1:
                self.timer = threading.Timer(DELAY, self._say)
                self.timer.daemon = True
                self.timer.start()

    def on_end(self, ev):
        if self.done or not _ours(ev.data):
            return
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.timer is not None:
                self.timer.cancel()
                self.timer = None

    def _say(self):
        if self.done:
            return
        self.done = True
        where = ("cached on disk: later processes start warm" if self.cached else
                 "NOT cached: no writable cache folder, set NUMBA_CACHE_DIR")
        LOGGER.warning(
            "nbnumba: compiling for this CPU on first use, once (%s; `python -m nbnumba "
            "--compile` compiles every kernel ahead; NBNUMBA_QUIET=1 silences this)", where)


def _ours(data):
    dispatcher = (data or {}).get("dispatcher")
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    return module.split(".", 1)[0] == "nbnumba"


def install(cached):
    """Register the listener once (``cached``: whether the disk cache is used)."""
    if os.environ.get("NBNUMBA_QUIET", "") not in ("", "0"):
        return
    event.register("numba:compile", _Notice(cached))
