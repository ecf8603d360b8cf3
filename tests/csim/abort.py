"""Run a converted hls4ml project's C simulation in a child process, where an ``assert`` may abort it.

An ``assert`` in the compiled project fails inside a ctypes call, which takes the whole
process down (SIGABRT); the tests that show hls4ml 1.3.0 really aborts on a setting run
the build and the prediction here, in a fresh interpreter, and read what came back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent("""
    import importlib, sys, numpy as np
    sys.path.insert(0, {root!r})
    hm = getattr(importlib.import_module({module!r}), {function!r})({out!r}, *{args!r})
    hm.compile()
    print("compiled", flush=True)
    hm.predict(np.zeros((2, *hm.get_input_variables()[0].shape)))
    print("PREDICTED", flush=True)
""")


def assert_csim_aborts(build: str, out_dir: str | os.PathLike, assertion: str, *args, timeout: int = 1200) -> None:
    """Compile the project ``build`` makes and check that its C simulation aborts on ``assertion``.

    Parameters
    ----------
    build : str
        ``"module:function"``; ``function(output_dir, *args)`` returns the converted
        ``ModelGraph`` (not compiled), with ``output_dir`` its project folder.
    out_dir : path-like
        the project folder.
    assertion : str
        text of the C++ ``assert`` expected on stderr.
    args : JSON-able
        more arguments for ``function``.
    """
    module, function = build.split(":")
    script = _SCRIPT.format(root=str(ROOT), module=module, function=function, out=str(out_dir), args=args)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          cwd=str(ROOT), env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert "compiled" in proc.stdout, proc.stderr[-3000:]
    assert "PREDICTED" not in proc.stdout, "the C simulation ran to the end"
    assert proc.returncode == -int(signal.SIGABRT), (proc.returncode, proc.stderr[-3000:])
    assert assertion in proc.stderr, proc.stderr[-3000:]
