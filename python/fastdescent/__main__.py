"""Command line: ``python -m fastdescent demo`` and ``python -m fastdescent bench``."""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__, available_backends


def _sample_size(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of points is needed; got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"the sample needs at least one point; got {n}")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastdescent", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fastdescent {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit y = 2x + 3 + noise by every method on every backend")
    demo.add_argument("--n", type=_sample_size, default=20_000, help="size of the larger sample (default 20000)")
    demo.add_argument("--backend", action="append", choices=("cpp", "numba", "numpy"),
                      help="limit to these backends (repeatable); default: all available")  # fmt: skip
    demo.add_argument("--plot", default="fastdescent-demo.png", metavar="PATH",
                      help="where to write the convergence plot (default: %(default)s; needs matplotlib)")
    demo.add_argument("--no-plot", action="store_true", help="do not write the plot")  # fmt: skip
    bench = commands.add_parser("bench", help="time fastdescent against its peers on this machine")
    bench.add_argument("--quick", action="store_true", help="small sizes: one to two minutes, most of it compiling the Numba kernels on a first run")
    bench.add_argument("--json", metavar="PATH", help="write every figure to this JSON file")
    bench.add_argument("--plot", metavar="PATH", help="draw a bar chart to this PNG (needs matplotlib)")
    bench.add_argument("--dask", action="store_true",
                       help="time one fit in memory, on a memory map and on Dask (threads, 2 worker processes) "
                            "instead (needs fastdescent[dask])")  # fmt: skip
    args = parser.parse_args(argv)
    plot = None if args.command == "demo" and args.no_plot else args.plot
    for option, path in (("--plot", plot), ("--json", getattr(args, "json", None))):
        # before the run, not after minutes of it
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            parser.error(f"{option} {path}: the directory {os.path.dirname(os.path.abspath(path))} does not exist")

    if args.command == "bench":
        from ._bench import run as run_bench

        run_bench(quick=args.quick, json_path=args.json, plot_path=plot, dask=args.dask)
        return 0

    if args.command == "demo":
        from ._demo import run

        print(f"fastdescent {__version__}; backends available here: {', '.join(available_backends())}")
        rows = run(sizes=(5, args.n), backends=args.backend, plot_path=plot)
        disagree = sorted({(row["n"], row["method"]) for row in rows if not row["bits_agree"]})
        if disagree:
            print(f"\nbackends disagree on: {disagree}", file=sys.stderr)
            return 1
        print("\nEvery backend returned the same bits for every method.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
