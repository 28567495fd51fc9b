"""The ``naslib-snn`` command line: ``search``, ``train``, ``benchmark``, ``correlate``.

Each subcommand lives in its own module, which exposes ``configure_parser(parser)`` and
``run(args) -> int``; modules are imported only when their subcommand runs, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from ._version import __version__
from .utils.malloc import tune_malloc

class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``argparse.ArgumentDefaultsHelpFormatter`` that appends ``(default: X)`` only where it is true and useful.

    Left out: a ``None`` default (the help text says what happens then), switches that take no value
    (``store_true`` / ``store_false``: their default is the switch's absence, not the dest's value;
    ``--x/--no-x`` pairs keep theirs), and help texts that already name their default.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        switch = action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction)
        if action.default is None or switch or "default" in text:
            return text
        return super()._get_help_string(action)


#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "search": ("naslib_snn.search", "random search: score N random cells with a training-free proxy, keep the best"),
    "train": ("naslib_snn.train", "train one cell with the paper's surrogate-gradient recipe"),
    "benchmark": ("naslib_snn.benchmarks.cli", "build or inspect the tabular spiking benchmark"),
    "correlate": ("naslib_snn.correlation", "correlate proxies with trained accuracy on a benchmark"),
}
DEFAULT_SUBCOMMAND = "search"


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="naslib-snn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"naslib-snn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module_name).configure_parser(sub_parser)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point. With no subcommand, runs ``search`` with its small defaults."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = [DEFAULT_SUBCOMMAND]
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    args = build_parser(command).parse_args(argv)
    if args.command is None:
        build_parser(None).print_help()
        return 2
    try:
        tune_malloc()  # this process is ours: reuse freed tensor memory (naslib_snn.utils.malloc)
    except ValueError as error:
        print(f"naslib-snn: error: {error}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
