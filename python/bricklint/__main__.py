"""``python -m bricklint ...``: run the bundled binary with the same arguments."""

from __future__ import annotations

import os
import subprocess
import sys

from bricklint._find import find_bricklint_bin


def main() -> int:
    binary = find_bricklint_bin()
    args = [binary, *sys.argv[1:]]
    if sys.platform == "win32":
        return subprocess.run(args).returncode
    os.execv(binary, args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
