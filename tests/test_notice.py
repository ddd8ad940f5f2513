"""The one-time compilation notice and ``python -m nbnumba --compile``'s progress."""
import logging
import subprocess
import sys

import numba
import pytest
from numba.core import event

from nbnumba._math import notice


def _fresh(module):
    def f(x):
        return x + 1.0
    f.__module__ = module
    return numba.njit(cache=False)(f)


@pytest.fixture
def listener(monkeypatch):
    monkeypatch.setattr(notice, "DELAY", 0.0)
    lst = notice._Notice(cached=True)
    event.register("numba:compile", lst)
    yield lst
    event.unregister("numba:compile", lst)


def _wait(lst):
    if lst.timer is not None:
        lst.timer.join()


def test_said_once_for_nbnumba_code(listener, caplog):
    with caplog.at_level(logging.WARNING, logger="nbnumba"):
        f = _fresh("nbnumba._fake")
        f(1.0)
        _wait(listener)
        _fresh("nbnumba._fake")(2.0)
    said = [r for r in caplog.records if r.name == "nbnumba"]
    assert len(said) == 1 and "compiling for this CPU" in said[0].getMessage()
    assert "NBNUMBA_QUIET=1" in said[0].getMessage()


def test_silent_for_other_code_and_when_fast(caplog, monkeypatch):
    lst = notice._Notice(cached=True)
    event.register("numba:compile", lst)
    try:
        with caplog.at_level(logging.WARNING, logger="nbnumba"):
            monkeypatch.setattr(notice, "DELAY", 0.0)
            _fresh("somebody_else")(1.0)          # not ours
            monkeypatch.setattr(notice, "DELAY", 60.0)
            _fresh("nbnumba._fake")(1.0)          # ours, but done long before the delay
            assert lst.timer is None and not lst.done
    finally:
        event.unregister("numba:compile", lst)
    assert not [r for r in caplog.records if r.name == "nbnumba"]


def test_quiet_environment_installs_nothing(monkeypatch):
    monkeypatch.setenv("NBNUMBA_QUIET", "1")
    before = len(event._registered["numba:compile"])
    notice.install(True)
    assert len(event._registered["numba:compile"]) == before


def test_compile_progress():
    """--compile prints a numbered line per kernel (here up to the first few,
    which a warm cache serves quickly; the whole run is minutes cold)."""
    code = ("import sys, nbnumba.__main__ as m\n"
            "tasks = m._compile_tasks()\n"
            "m._compile_tasks = lambda: tasks[:3]\n"
            "print(len(tasks), file=sys.stderr)\n"
            "m.main(['--compile'])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert int(lines[0]) > 40
    progress = [line.split("]")[0] for line in lines if line.startswith("[")]
    assert progress == ["[  1/3", "[  2/3", "[  3/3"]
    assert "compiled every CPU kernel" in r.stdout
