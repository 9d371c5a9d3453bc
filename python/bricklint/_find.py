"""Locate the ``bricklint`` binary the wheel installed (as ruff's ``find_ruff_bin`` does)."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig


def find_bricklint_bin() -> str:
    """The path of the ``bricklint`` binary.

    ``BRICKLINT_BIN`` wins when set; then the scripts directory of this interpreter (where pip
    put the binary of this wheel), the user scheme's, the interpreter's own directory, and last
    ``PATH``.
    """
    override = os.environ.get("BRICKLINT_BIN")
    if override:
        return override
    exe = "bricklint" + (sysconfig.get_config_var("EXE") or "")
    candidates = [sysconfig.get_path("scripts")]
    user_scheme = {"nt": "nt_user", "posix": "posix_user"}.get(os.name)
    if sys.platform == "darwin" and sys._framework:  # type: ignore[attr-defined]
        user_scheme = "osx_framework_user"
    if user_scheme and user_scheme in sysconfig.get_scheme_names():
        candidates.append(sysconfig.get_path("scripts", scheme=user_scheme))
    candidates.append(os.path.dirname(sys.executable))
    for directory in candidates:
        if directory:
            path = os.path.join(directory, exe)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    found = shutil.which("bricklint")
    if found:
        return found
    raise FileNotFoundError(
        "the bricklint binary was not found next to this Python package "
        f"(looked in {', '.join(c for c in candidates if c)} and on PATH); "
        "reinstall it with `pip install bricklint` or set BRICKLINT_BIN"
    )
