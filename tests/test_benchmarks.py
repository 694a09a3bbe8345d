"""Every asv benchmark runs, once, at its first parameter combination: the
benchmarks cannot rot between runs of ``asv run --python=same --quick``."""

import importlib.util
import inspect
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "asv_benchmarks" / "benchmarks"


def _benchmark_classes():
    for path in sorted(BENCH_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "params"):
                yield pytest.param(cls, id=f"{path.stem}.{name}")


@pytest.mark.parametrize("cls", list(_benchmark_classes()))
def test_benchmark_runs_once(cls):
    params = cls.params if isinstance(cls.params, tuple) else (cls.params,)
    first = [values[0] for values in params]
    bench = cls()
    bench.setup(*first)
    methods = [
        name
        for name in dir(bench)
        if name.startswith(("time_", "peakmem_", "track_", "mem_"))
    ]
    assert methods
    for name in methods:
        value = getattr(bench, name)(*first)
        if name.startswith("track_"):
            assert value == value  # a number, not NaN
