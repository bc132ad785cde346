"""Several full runs of ``python -m fastdescent bench``, each saved as JSON with its date and machine."""

import argparse
import datetime
import pathlib

from fastdescent._bench import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="how many full runs")
    parser.add_argument("--out", default="benchmarks/results", help="folder for the JSON files")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for k in range(args.repeat):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        run(quick=args.quick, json_path=str(out / f"bench-{stamp}-{k}.json"))


if __name__ == "__main__":
    main()
