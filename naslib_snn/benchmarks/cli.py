"""``naslib-snn benchmark {build,export,info,zc,pilot}``: build, ship, inspect and score the tabular benchmark.

    naslib-snn benchmark build --out runs/bench --resume          # start, or continue, the build
    naslib-snn benchmark export --out runs/bench                  # -> naslib_snn/benchmarks/data/<name>.json
    naslib-snn benchmark info --benchmark spiking_nb201_fmnist    # summary of a table or a build
    naslib-snn benchmark zc --benchmark spiking_nb201_fmnist --out zc.json
    naslib-snn benchmark pilot runs/recipe_a runs/recipe_b          # compare recipes' noise ceilings
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

__all__ = ["configure_parser", "run", "summary"]


def _override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. epochs=3), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    from naslib_snn.benchmarks.builder import BENCHMARK_NAME, NUM_CELLS, NUM_REPEATS, SAMPLE_SEED  # noqa: PLC0415
    from naslib_snn.benchmarks.zc import ZC_BATCH_SIZE, ZC_NUM_BATCHES  # noqa: PLC0415

    sub = parser.add_subparsers(dest="benchmark_command", metavar="{build,export,info,zc,pilot}", required=True)

    b = sub.add_parser("build", help="train the benchmark's cells (resumable; appends each finished run)",
                       description="Train every cell of the benchmark with one recipe, appending each finished run to "
                                   "OUT/cells.jsonl. Safe to kill at any time; --resume continues, never restarts.")
    b.add_argument("--out", required=True, help="build directory")
    b.add_argument("--resume", action="store_true", help="continue the build in --out")
    b.add_argument("--name", default=None, choices=sorted(builder_presets()),
                   help=f"the named benchmark whose plan to build: recipe, cells and repeats (new build: {BENCHMARK_NAME})")
    b.add_argument("--cells", type=int, default=None, help=f"cells in the sample (new build: {NUM_CELLS})")
    b.add_argument("--repeat-seeds", type=int, default=None,
                   help=f"cells trained again with a second seed, for the noise ceiling (new build: {NUM_REPEATS})")
    b.add_argument("--sample-seed", type=int, default=None, help=f"seed of the sample (new build: {SAMPLE_SEED})")
    b.add_argument("--dataset", default=None, help="train on another dataset than the recipe's (e.g. synthetic)")
    b.add_argument("--set", dest="overrides", action="append", type=_override, default=None, metavar="KEY=VALUE",
                   help="override a recipe field (TrainConfig), e.g. --set epochs=3; repeatable")
    b.add_argument("--data-dir", default=None, help="dataset location (not part of the plan)")
    b.add_argument("--workers", type=int, default=1,
                   help="runs trained at once: processes, or Ray tasks in flight (%(default)s)")
    b.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local processes, or Ray tasks on a cluster (%(default)s)")
    b.add_argument("--ray-address", default=None,
                   help="Ray cluster to join with --executor ray, e.g. auto or HOST:PORT (default: a local instance)")
    b.add_argument("--threads", type=int, default=None, help="torch threads per run")
    b.add_argument("--max-runs", type=int, default=None, help="stop after this many runs (a session budget)")
    b.add_argument("--max-hours", type=float, default=None, help="start no run after this many hours")
    b.add_argument("--keep-checkpoints", action="store_true", help="keep finished runs' checkpoint.pt")
    b.add_argument("--train-fn", default=None, metavar="MODULE:FUNCTION",
                   help="training function (default naslib_snn.train:train); for tests and experiments")
    b.add_argument("--verbose", action="store_true", help="show the trainer's own progress")
    b.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("export", help="write a build's compact table JSON (the shipped file by default)")
    e.add_argument("--out", required=True, help="build directory")
    e.add_argument("--path", default=None, help="output file (default: naslib_snn/benchmarks/data/<name>.json)")
    e.add_argument("--partial", action="store_true", help="export an unfinished build")

    i = sub.add_parser("info", help="summarise a benchmark table or build")
    i.add_argument("--benchmark", default="spiking_nb201_fmnist", help="name, table JSON or build directory")

    z = sub.add_parser("zc", help="compute zero-cost proxies in NAS-Bench-Suite-Zero's layout (resumable)")
    z.add_argument("--benchmark", default="spiking_nb201_fmnist", help="name, table JSON or build directory")
    z.add_argument("--out", required=False, default=None, help="zero-cost JSON file (continued if it exists)")
    z.add_argument("--proxies", default=None, help="comma-separated proxies (default: sahd, sahd_reference, hd)")
    z.add_argument("--batch-size", type=int, default=ZC_BATCH_SIZE, help="scoring batch size (%(default)s)")
    z.add_argument("--num-batches", type=int, default=ZC_NUM_BATCHES, help="scoring batches (%(default)s)")
    z.add_argument("--seed", type=int, default=0, help="data and network-initialisation seed (%(default)s)")
    z.add_argument("--data-dir", default=None, help="dataset location")
    z.add_argument("--provider-module", action="append", default=[], metavar="MODULE",
                   help="import MODULE to register more proxy providers (e.g. a NASLib adapter); repeatable")
    z.add_argument("--limit", type=int, default=None, help="score at most this many new cells")
    z.add_argument("--retry-missing", action="store_true", help="recompute entries recorded as missing")
    z.add_argument("--list", action="store_true", help="list the available proxies and exit")
    z.add_argument("--no-progress", action="store_true")

    from naslib_snn.benchmarks import pilot  # noqa: PLC0415

    p = sub.add_parser("pilot", help="compare recipe builds: noise ceiling, accuracies, CPU cost",
                       description="One table row per build directory (one recipe each, the same cells trained with "
                                   "two seeds): noise ceiling Kendall tau with its bootstrap interval, test and train "
                                   "accuracy, CPU-seconds per run and the cost of a 150-cell build.")
    pilot.configure_parser(p)


def builder_presets() -> dict[str, Any]:
    from naslib_snn.benchmarks.builder import PRESETS  # noqa: PLC0415

    return PRESETS


def run(args: argparse.Namespace) -> int:
    """Run one subcommand; a bad input or a missing file prints one error line and returns 2."""
    handler = {"build": _build, "export": _export, "info": _info, "zc": _zc, "pilot": _pilot}[args.benchmark_command]
    try:
        return handler(args)
    except (FileNotFoundError, FileExistsError, ValueError, KeyError, ImportError, RuntimeError,
            ConnectionError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"naslib-snn benchmark {args.benchmark_command}: error: {message}", file=sys.stderr)
        return 2


def _pilot(args: argparse.Namespace) -> int:
    from naslib_snn.benchmarks import pilot  # noqa: PLC0415

    return pilot.run(args)


def _build(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from naslib_snn.benchmarks import builder  # noqa: PLC0415

    given = (args.name, args.cells, args.repeat_seeds, args.sample_seed, args.dataset, args.overrides)
    explicit = any(v is not None for v in given)
    stored = (Path(args.out) / builder.PLAN_NAME).exists()
    plan = None
    if explicit or not stored:
        name = builder.BENCHMARK_NAME if args.name is None else args.name
        preset = builder.PRESETS[name]
        recipe = dict(preset.recipe)
        if args.dataset is not None:
            recipe["dataset"] = args.dataset
        recipe.update(dict(args.overrides or []))
        if recipe["dataset"] != preset.recipe["dataset"]:
            name = name.replace("fmnist", recipe["dataset"])  # e.g. spiking_nb201_synthetic
        plan = builder.make_plan(
            num_cells=preset.num_cells if args.cells is None else args.cells,
            num_repeats=preset.num_repeats if args.repeat_seeds is None else args.repeat_seeds,
            sample_seed=preset.sample_seed if args.sample_seed is None else args.sample_seed,
            recipe=recipe,
            name=name,
        )
    train_fn = builder.load_callable(args.train_fn) if args.train_fn else None
    counts = builder.build(
        args.out,
        plan=plan,
        resume=args.resume,
        train_fn=train_fn,
        workers=args.workers,
        threads=args.threads,
        max_runs=args.max_runs,
        max_seconds=None if args.max_hours is None else args.max_hours * 3600.0,
        keep_checkpoints=args.keep_checkpoints,
        progress=not args.no_progress,
        train_progress=args.verbose,
        data_dir=args.data_dir,
        executor=args.executor,
        ray_address=args.ray_address,
    )
    print(f"{counts['done']}/{counts['planned']} runs done ({counts['trained']} trained now, {counts['remaining']} left)")
    if counts["remaining"]:
        print(f"continue with: naslib-snn benchmark build --out {args.out} --resume")
    else:
        print(f"complete; ship it with: naslib-snn benchmark export --out {args.out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from naslib_snn.benchmarks import builder, load  # noqa: PLC0415

    path = builder.export_table(args.out, args.path, partial=args.partial)
    print(summary(load(path)))
    print(f"wrote {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from naslib_snn.benchmarks import load  # noqa: PLC0415

    print(summary(load(args.benchmark)))
    return 0


def _zc(args: argparse.Namespace) -> int:
    from naslib_snn.benchmarks import zc  # noqa: PLC0415

    zc.load_provider_modules(args.provider_module)
    if args.list:
        for proxy, provider in sorted(zc.list_zc_proxies().items()):
            print(f"{proxy:20s} {provider}")
        return 0
    if args.out is None:
        raise SystemExit("naslib-snn benchmark zc: --out FILE is required (unless --list)")
    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()] if args.proxies else None
    table = zc.compute_zc(args.benchmark, args.out, proxies, batch_size=args.batch_size, num_batches=args.num_batches,
                          seed=args.seed, data_dir=args.data_dir, limit=args.limit, retry_missing=args.retry_missing,
                          progress=not args.no_progress)
    dataset = table[zc.META_KEY]["dataset"]
    cells = table[dataset]
    for proxy in zc.zc_proxies(table, dataset):
        entries = [entry[proxy] for entry in cells.values() if proxy in entry]
        missing = sum(1 for e in entries if e["score"] is None)
        print(f"{proxy:20s} {len(entries)} cells, {missing} missing, "
              f"{sum(e['time'] for e in entries):.1f} s")
    print(f"wrote {args.out}")
    return 0


def summary(api: Any) -> str:
    """A few lines about a benchmark: size, recipe, cost, accuracy spread, noise ceiling."""
    from scipy import stats  # noqa: PLC0415

    meta = api.meta
    specs = api.specs()
    backward = sum(1 for s in specs if s.has_backward)
    acc = np.array(api.column("test_accuracy"), dtype=np.float64)
    pairs = api.repeat_pairs()
    lines = [
        f"benchmark {api.name} ({api.source})",
        f"  search space {api.search_space}, dataset {api.dataset}",
        f"  cells: {len(specs)} ({len(specs) - backward} forward-only, {backward} with backward edges); "
        f"seeds {meta['seeds']}; {len(pairs)} cells trained with two seeds",
    ]
    if "complete" in meta:
        lines.append(f"  complete: {meta['complete']} ({meta.get('planned_cells', '?')} cells planned)")
    if meta.get("recipe"):
        lines.append(f"  recipe: {json.dumps(meta['recipe'], sort_keys=True)}")
    cost = meta.get("cost") or {}
    if cost.get("train_seconds") is not None:
        lines.append(f"  cost: {cost['train_seconds']:.0f} s of training ({cost['train_seconds'] / 3600:.2f} h) over "
                     f"{cost.get('runs', '?')} runs")
    for machine in meta.get("machines") or []:
        if machine:
            lines.append(f"  machine: {machine.get('cpu')} x{machine.get('cpu_count')}, torch {machine.get('torch')}")
    if meta.get("package_version"):
        lines.append(f"  naslib-snn {meta['package_version']}, exported {meta.get('date', '?')}")
    finite = acc[np.isfinite(acc)]
    if len(finite):
        q = np.percentile(finite, [0, 25, 50, 75, 100])
        lines.append(f"  test accuracy (seed {api.primary_seed}): min {q[0]:.2f}, quartiles {q[1]:.2f} / {q[2]:.2f} / "
                     f"{q[3]:.2f}, max {q[4]:.2f} %")
        best = specs[int(np.nanargmax(acc))]
        lines.append(f"  best cell: {best.to_str()} ({np.nanmax(acc):.2f} %)")
    if len(pairs) >= 3:
        tau = stats.kendalltau([p[1] for p in pairs], [p[2] for p in pairs]).statistic
        diff = np.mean([abs(p[1] - p[2]) for p in pairs])
        lines.append(f"  noise ceiling: Kendall tau {tau:+.3f} between seeds over {len(pairs)} cells; "
                     f"mean |difference| {diff:.2f} points" if not math.isnan(tau) else "  noise ceiling: undefined")
    return "\n".join(lines)
