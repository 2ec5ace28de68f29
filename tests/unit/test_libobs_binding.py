"""The libobs bindings' lookup and variadic call, checked against the running Python and
the C library (no OBS needed)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from ctypes import c_char_p, c_int, c_size_t

from guestrec.obs_bridge import libobs


def _libc() -> ctypes.CDLL:
    if sys.platform == "win32":
        return ctypes.CDLL("msvcrt")
    return ctypes.CDLL(ctypes.util.find_library("c") or None)


def test_a_symbol_of_the_running_process_is_found_without_a_file_name() -> None:
    found = libobs._loaded_in_process("Py_IsInitialized", ("python3.dll",))
    assert found is not None and found.Py_IsInitialized() == 1


def test_a_symbol_nobody_loaded_is_not_found() -> None:
    assert libobs._loaded_in_process("guestrec_no_such_symbol", ("guestrec-none.dll",)) is None


def test_a_variadic_binding_passes_its_extra_arguments_through() -> None:
    libc = _libc()
    libobs._bind_variadic(libc, "snprintf", c_int, c_char_p, c_size_t, c_char_p)
    assert libc.snprintf.argtypes == [c_char_p, c_size_t, c_char_p]  # the fixed part only
    out = ctypes.create_string_buffer(64)
    written = libc.snprintf(out, len(out), b"%s|%d|%s", c_char_p(b"100% sure"), c_int(42), c_char_p(b"end"))
    assert out.value == b"100% sure|42|end" and written == len(out.value)


def test_log_lines_are_printed_when_libobs_cannot_be_found(monkeypatch, capsys) -> None:
    """Lines still reach OBS (its Script Log shows what a script prints), looked up once."""
    import logging

    from guestrec.obs_bridge import logs

    lookups: list[str] = []

    def no_libobs(level: str, line: str) -> None:
        lookups.append(line)
        raise libobs.LibObsMissing("not in this process")

    monkeypatch.setattr(logs, "obs_log", no_libobs)
    monkeypatch.setattr(logs, "_printing_instead", [])
    handler = logs.route_package_logs_to_obs()
    try:
        for n in range(3):
            logging.getLogger("guestrec.check").info("line %d at 100%%", n)
    finally:
        logs.stop_routing(handler)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"[guestrec] guestrec.check: line {n} at 100%" for n in range(3)]
    assert len(lookups) == 1
