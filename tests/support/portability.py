"""Find calls in Python code that exist on one OS only, unguarded (read with `ast`: comments
and docstrings never count).

    problems(path)      -> ["file.py:12: os.pwrite is POSIX-only ...", ...]
    problems_in(source) -> the same for a piece of source text

"Guarded" means: under an `if` that tests the platform (sys.platform, os.name,
platform.system(), hasattr/getattr), after such an `if` earlier in the same function
that returns or raises, or in a `try` that catches AttributeError, ImportError or
NotImplementedError.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

# os attributes missing from Windows' Python (and some from macOS's too).
POSIX_ONLY_OS = frozenset({
    "pwrite", "pread", "pwritev", "preadv", "fork", "forkpty", "register_at_fork", "setsid",
    "setpgid", "setpgrp", "getpgid", "getpgrp", "killpg", "getuid", "geteuid", "getgid",
    "getegid", "getgroups", "setuid", "setgid", "chown", "lchown", "fchown", "chroot",
    "statvfs", "fstatvfs", "mkfifo", "mknod", "nice", "getpriority", "setpriority",
    "getloadavg", "sysconf", "confstr", "pathconf", "fpathconf", "uname", "sched_getaffinity",
    "sched_setaffinity", "posix_fadvise", "posix_fallocate", "wait3", "wait4", "waitid",
    "WNOHANG", "sync", "fdatasync", "pipe2", "openpty", "ttyname", "memfd_create", "eventfd",
    "splice", "sendfile", "get_blocking", "set_blocking",
    "O_NOFOLLOW", "O_DIRECTORY", "O_CLOEXEC", "O_NONBLOCK", "O_SYNC", "O_DSYNC", "O_NOATIME",
    "O_DIRECT", "O_NOCTTY", "O_ASYNC", "O_PATH", "O_TMPFILE",
})
# Windows-only os attributes.
WINDOWS_ONLY_OS = frozenset({"startfile", "O_BINARY", "O_NOINHERIT", "O_TEXT"})
SIGNAL_CALLS = frozenset({
    "signal", "alarm", "setitimer", "pause", "pthread_kill", "pthread_sigmask", "sigwait",
    "siginterrupt", "set_wakeup_fd",
})
POSIX_ONLY_SIGNALS = frozenset({
    "SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGQUIT",
    "SIGSTOP", "SIGCONT", "SIGTSTP", "SIGWINCH",
})
LOOP_SIGNAL_METHODS = frozenset({"add_signal_handler", "remove_signal_handler"})
POSIX_ONLY_MODULES = frozenset({"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource",
                                "posix", "syslog", "crypt", "spwd"})
WINDOWS_ONLY_MODULES = frozenset({"msvcrt", "winreg", "_winapi", "winsound", "nt"})
WINDOWS_ONLY_CTYPES = frozenset({"WinDLL", "windll", "oledll", "OleDLL", "WinError",
                                 "FormatError", "GetLastError", "HRESULT"})
# Paths that exist on Linux only (or mean something else elsewhere).
UNIX_PATH = re.compile(r"(?<![\w.:/])/(proc|sys|dev/shm|usr/lib|usr/local/lib|tmp|var)(/|$)")
PLATFORM_VALUES = frozenset({("sys", "platform"), ("os", "name"), ("platform", "system")})
ATTRIBUTE_TESTS = ("hasattr", "getattr")
GUARD_EXCEPTIONS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError",
                              "NotImplementedError"})


def problems(path: Path, shown_as: str | None = None) -> list[str]:
    return problems_in(Path(path).read_text(encoding="utf-8"), shown_as or str(path))


def problems_in(source: str, name: str = "<source>") -> list[str]:
    tree = ast.parse(source, name)
    parents = _parents(tree)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        for what in _what_is_wrong(node, parents, docstrings):
            if not _guarded(node, parents):
                found.append(f"{name}:{node.lineno}: {what}")
    return sorted(set(found), key=_line_order)


def _line_order(entry: str) -> tuple[str, int]:
    file, line, _ = entry.split(":", 2)
    return file, int(line)


def _what_is_wrong(node: ast.AST, parents: dict[ast.AST, ast.AST], docstrings: set[int]) -> Iterator[str]:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        yield from _wrong_attribute(node.value.id, node.attr)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        yield from _wrong_call(node, node.func, parents)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for module in _imported_modules(node):
            if module in POSIX_ONLY_MODULES:
                yield f"import {module}: the module is POSIX-only"
            elif module in WINDOWS_ONLY_MODULES:
                yield f"import {module}: the module is Windows-only"
    if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and UNIX_PATH.search(node.value)):
        yield f"the path in {node.value[:40]!r} exists on Linux only"


def _wrong_attribute(module: str, attr: str) -> Iterator[str]:
    if module == "os" and (attr in POSIX_ONLY_OS or attr.startswith("RTLD_")):
        yield f"os.{attr} is POSIX-only (missing from Windows' Python)"
    elif module == "os" and attr in WINDOWS_ONLY_OS:
        yield f"os.{attr} exists on Windows only; use getattr(os, {attr!r}, 0)"
    elif module == "signal" and attr in POSIX_ONLY_SIGNALS:
        yield f"signal.{attr} does not exist on Windows"
    elif module == "ctypes" and attr in WINDOWS_ONLY_CTYPES:
        yield f"ctypes.{attr} exists on Windows only"


def _wrong_call(call: ast.Call, func: ast.Attribute, parents: dict[ast.AST, ast.AST]) -> Iterator[str]:
    owner = func.value.id if isinstance(func.value, ast.Name) else None
    if owner == "signal" and func.attr in SIGNAL_CALLS:
        yield f"signal.{func.attr}() installs process-wide signal handling (OBS owns the process)"
    if func.attr in LOOP_SIGNAL_METHODS:
        yield f"{func.attr}() raises NotImplementedError on Windows' event loops"
    if owner == "os" and func.attr == "open" and not _has_binary_flag(call, parents):
        yield "os.open without O_BINARY: the file is in text mode on Windows"


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if node.level or not node.module:
        return []
    return [node.module.split(".")[0]]


def _mentions_binary(node: ast.AST) -> bool:
    for part in ast.walk(node):
        if isinstance(part, ast.Name) and "O_BINARY" in part.id:
            return True
        if isinstance(part, ast.Attribute) and part.attr == "O_BINARY":
            return True
        if isinstance(part, ast.Constant) and part.value == "O_BINARY":
            return True
    return False


def _has_binary_flag(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    flags = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "flags"), None)
    if flags is None:
        return False
    if _mentions_binary(flags):
        return True
    if isinstance(flags, ast.Name):  # a variable: look at what the enclosing scope sets it to
        scope = _enclosing_scope(call, parents)
        for node in ast.walk(scope):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            named = any(isinstance(t, ast.Name) and t.id == flags.id for t in targets)
            if named and node.value is not None and _mentions_binary(node.value):
                return True
    return False


def _enclosing_scope(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            return node
    return node


def _is_platform_test(test: ast.AST, scope: ast.AST | None = None) -> bool:
    """Whether `test` depends on the OS: directly, or through a variable that the
    enclosing `scope` sets from the OS (`opener = {...}.get(sys.platform)`)."""
    for part in ast.walk(test):
        if (isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name)
                and (part.value.id, part.attr) in PLATFORM_VALUES):
            return True
        if isinstance(part, ast.Call) and isinstance(part.func, ast.Name) and part.func.id in ATTRIBUTE_TESTS:
            return True
        if isinstance(part, ast.Name) and scope is not None and any(
                _is_platform_test(value) for value in _values_assigned(scope, part.id)):
            return True
    return False


def _values_assigned(scope: ast.AST, name: str) -> Iterator[ast.AST]:
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            yield node.value


def _terminates(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue))


def _catches_guard_errors(handler: ast.ExceptHandler) -> bool:
    names = []
    if isinstance(handler.type, ast.Name):
        names = [handler.type.id]
    elif isinstance(handler.type, ast.Tuple):
        names = [e.id for e in handler.type.elts if isinstance(e, ast.Name)]
    return bool(GUARD_EXCEPTIONS & set(names))


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    scope = _enclosing_scope(node, parents)
    child = node
    while child in parents:
        parent = parents[child]
        if (isinstance(parent, (ast.If, ast.IfExp)) and child is not parent.test
                and _is_platform_test(parent.test, scope)):
            return True
        if isinstance(parent, ast.Try) and child in parent.body and any(
                _catches_guard_errors(h) for h in parent.handlers):
            return True
        body = getattr(parent, "body", None)
        if isinstance(body, list) and child in body:
            for earlier in body[:body.index(child)]:
                if (isinstance(earlier, ast.If) and _is_platform_test(earlier.test, scope)
                        and _terminates(earlier.body)):
                    return True
        child = parent
    return False


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found
