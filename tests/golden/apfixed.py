"""A golden oracle: the real ``ap_types`` headers shipped inside hls4ml, compiled with g++.

``Oracle(cases)`` writes one C++ program in which every case is a template
instantiation (``ap_fixed`` types are compile-time), builds it once into
``.cache/golden/<hash>/`` (several translation units, compiled in parallel), and
``oracle.run(inputs)`` feeds it each case's inputs and returns its raw codes.

Case kinds
----------
``("conv", dst)``            double -> dst, inputs float64
``("cast", src, dst)``       src code -> dst (C++ assignment), inputs int64 codes of src
``("mul", a, b)`` / ``("add", a, b)``
                             exact a*b / a+b; inputs int64 pairs; returns the result's
                             code plus its C++ width, integer bits and signedness
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fxsim.fixed import FixedType

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "golden"


def ap_types_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("hls4ml")
    return Path(spec.origin).parent / "templates" / "vivado" / "ap_types"


def cpp_type(t: FixedType) -> str:
    if t.is_int:
        return f"ap_{'' if t.signed else 'u'}int<{t.width}>"
    name = "ap_fixed" if t.signed else "ap_ufixed"
    return f"{name}<{t.width},{t.integer},AP_{t.rounding.name},AP_{t.overflow.name}>"


PRELUDE = r"""
#include <cstdio>
#include <cstdint>
#include <vector>
#include "ap_fixed.h"
#include "ap_int.h"

template <int W, bool S, class T> static long long code_of(const T& t) {
  unsigned long long u = t.range(W - 1, 0).to_uint64();
  if (S && W < 64 && ((u >> (W - 1)) & 1ULL)) u |= (~0ULL) << W;
  return (long long)u;
}
template <int W, class T> static void set_code(T& t, long long c) {
  t.range(W - 1, 0) = (unsigned long long)c;
}
"""


def _case_function(index: int, case: tuple) -> str:
    kind = case[0]
    fn = f"case_{index}"
    if kind == "conv":
        dst = case[1]
        d = cpp_type(dst)
        return f"""
void {fn}(FILE* in, FILE* out, long long n) {{
  for (long long i = 0; i < n; ++i) {{
    double x; fread(&x, 8, 1, in);
    {d} t = x;
    long long c = code_of<{dst.width}, {str(dst.signed).lower()}>(t);
    fwrite(&c, 8, 1, out);
  }}
}}"""
    if kind == "cast":
        src, dst = case[1], case[2]
        return f"""
void {fn}(FILE* in, FILE* out, long long n) {{
  for (long long i = 0; i < n; ++i) {{
    long long c; fread(&c, 8, 1, in);
    {cpp_type(src)} s; set_code<{src.width}>(s, c);
    {cpp_type(dst)} t = s;
    long long r = code_of<{dst.width}, {str(dst.signed).lower()}>(t);
    fwrite(&r, 8, 1, out);
  }}
}}"""
    if kind in ("mul", "add"):
        a, b = case[1], case[2]
        op = "*" if kind == "mul" else "+"
        signed = str(a.signed or b.signed).lower()
        return f"""
void {fn}(FILE* in, FILE* out, long long n) {{
  typedef {cpp_type(a)} A; typedef {cpp_type(b)} B;
  A a0; B b0; typedef decltype(a0 {op} b0) R;
  R r0 = a0 {op} b0;
  long long meta[3] = {{R::width, {"R::iwidth" if not (a.is_int and b.is_int) else "R::width"},
                        (long long)(R(-1) < R(0))}};
  fwrite(meta, 8, 3, out);
  for (long long i = 0; i < n; ++i) {{
    long long ca, cb; fread(&ca, 8, 1, in); fread(&cb, 8, 1, in);
    A x; set_code<{a.width}>(x, ca); B y; set_code<{b.width}>(y, cb);
    R r = x {op} y;
    long long c = code_of<R::width, {signed}>(r);
    fwrite(&c, 8, 1, out);
  }}
}}"""
    raise ValueError(f"unknown golden case kind {kind!r}")


class Oracle:
    """The compiled golden program for a fixed list of cases."""

    def __init__(self, cases: list[tuple], n_units: int = 8):
        self.cases = list(cases)
        funcs = [_case_function(i, c) for i, c in enumerate(self.cases)]
        units = [funcs[k::n_units] for k in range(n_units)]
        names = [[f"case_{i}" for i in range(k, len(funcs), n_units)] for k in range(n_units)]
        main = ["#include <cstdio>"]
        for i in range(len(funcs)):
            main.append(f"void case_{i}(FILE*, FILE*, long long);")
        main.append("typedef void (*fn_t)(FILE*, FILE*, long long);")
        main.append("static fn_t table[] = {" + ", ".join(f"case_{i}" for i in range(len(funcs))) + "};")
        main.append(
            """int main(int argc, char** argv) {
  FILE* in = fopen(argv[1], "rb"); FILE* out = fopen(argv[2], "wb");
  long long idx, n;
  while (fread(&idx, 8, 1, in) == 1) { fread(&n, 8, 1, in); table[idx](in, out, n); }
  fclose(out); return 0;
}"""
        )
        sources = {"main.cpp": "\n".join(main)}
        for k, unit in enumerate(units):
            sources[f"unit{k}.cpp"] = PRELUDE + "\n".join(unit)
        del names
        digest = hashlib.sha256("".join(sources[k] for k in sorted(sources)).encode()).hexdigest()[:16]
        self.dir = CACHE / digest
        self.binary = self.dir / "golden"
        if not self.binary.exists():
            self._build(sources)

    def _build(self, sources: dict[str, str]) -> None:
        # Build in a private folder and move it into place: parallel test workers may
        # build the same program at once.
        CACHE.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE))
        inc = ap_types_dir()
        for name, text in sources.items():
            (work / name).write_text(text)

        def compile_one(name: str) -> Path:
            obj = work / (name[:-4] + ".o")
            cmd = ["g++", "-O1", "-std=c++17", f"-I{inc}", "-w", "-c", str(work / name), "-o", str(obj)]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            return obj

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            objs = list(pool.map(compile_one, sorted(sources)))
        subprocess.run(["g++", *map(str, objs), "-o", str(work / "golden")], check=True,
                       capture_output=True, text=True)
        try:
            work.rename(self.dir)
        except OSError:  # another worker finished first
            shutil.rmtree(work, ignore_errors=True)

    def run(self, inputs: list[np.ndarray]) -> list:
        """Feed ``inputs[i]`` to case i; return its codes (and ``(W, I, signed)`` for mul/add)."""
        if len(inputs) != len(self.cases):
            raise ValueError("one input array per case")
        tag = f"{os.getpid()}_{id(inputs)}"
        in_path = self.dir / f"in_{tag}.bin"
        out_path = self.dir / f"out_{tag}.bin"
        with open(in_path, "wb") as fh:
            for i, (case, arr) in enumerate(zip(self.cases, inputs)):
                if case[0] == "conv":
                    data = np.ascontiguousarray(arr, dtype=np.float64)
                    n = data.size
                elif case[0] == "cast":
                    data = np.ascontiguousarray(arr, dtype=np.int64)
                    n = data.size
                else:
                    data = np.ascontiguousarray(arr, dtype=np.int64)
                    n = data.shape[0]
                fh.write(np.array([i, n], dtype=np.int64).tobytes())
                fh.write(data.tobytes())
        try:
            # stderr: the headers print "assign NaN" for the ap_int quirk; not ours to show
            subprocess.run([str(self.binary), str(in_path), str(out_path)], check=True, stderr=subprocess.DEVNULL)
            raw = np.fromfile(out_path, dtype=np.int64)
        finally:
            in_path.unlink(missing_ok=True)
            out_path.unlink(missing_ok=True)
        results, pos = [], 0
        for case, arr in zip(self.cases, inputs):
            if case[0] in ("mul", "add"):
                meta = tuple(int(v) for v in raw[pos : pos + 3])
                pos += 3
                n = np.asarray(arr).shape[0]
                results.append((raw[pos : pos + n], meta))
            else:
                n = np.asarray(arr).size
                results.append(raw[pos : pos + n])
            pos += n
        return results
