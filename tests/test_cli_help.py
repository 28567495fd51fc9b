"""``--help`` states only defaults that are true."""

from __future__ import annotations

import argparse
import re

import pytest

from naslib_snn.cli import DefaultsHelpFormatter, build_parser


def _help(command: str, capsys, monkeypatch) -> list[str]:
    """The entries of ``naslib-snn COMMAND --help``: one string per option, its help joined into one line."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as info:
        build_parser(command).parse_args([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    entries: list[str] = []
    for line in text[text.index("options:"):].splitlines():
        if line.strip().startswith("-"):
            entries.append(line.strip())
        elif line.startswith(" ") and line.strip() and entries:  # the help, on the line below the option
            entries[-1] += " " + line.strip()
    return [" ".join(entry.split()) for entry in entries]


def _option_help(lines: list[str], option: str) -> str:
    """The help line of ``option``."""
    found = [line for line in lines if re.match(rf"{re.escape(option)}\b(?!-)", line)
             or re.match(rf"--[\w-]+, {re.escape(option)}\b", line)]
    assert len(found) == 1, f"{option}: {found}"
    return found[0]


def test_search_help_states_true_defaults(capsys, monkeypatch):
    text = _help("search", capsys, monkeypatch)
    assert not [line for line in text if "(default: None)" in line]
    assert _option_help(text, "--data-dir").endswith("(default: its standard location)")
    assert _option_help(text, "--image-size").endswith("(default: the dataset's)")
    assert _option_help(text, "--no-progress").endswith("hide the progress bar (default: shown)")
    assert _option_help(text, "--forward-only").endswith("(default: backward edges included)")
    assert _option_help(text, "--resume").endswith("(default: start a new run)")
    assert "RAY_AUTH_MODE=token" in _option_help(text, "--ray-address")
    assert "(default: True)" not in _option_help(text, "--no-progress")
    assert "(default: True)" not in _option_help(text, "--forward-only")
    assert _option_help(text, "--candidates").endswith("(default: 100)")  # real defaults are still stated
    assert _option_help(text, "--no-backward").endswith("(default: True)")  # --backward/--no-backward: True is right


def test_formatter_leaves_out_none_defaults_and_switch_values():
    parser = argparse.ArgumentParser(prog="x", formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--size", type=int, default=3, help="a size")
    parser.add_argument("--path", default=None, help="a path")
    parser.add_argument("--quiet", dest="loud", action="store_false", help="less output")
    parser.add_argument("--fast", action="store_true", help="go fast")
    parser.add_argument("--mode", default="a", help="the mode (default: the first one)")
    text = " ".join(parser.format_help().split())
    assert "a size (default: 3)" in text
    assert "a path --quiet" in text and "less output --fast" in text
    assert "go fast --mode" in text and "the mode (default: the first one)" in text
    assert text.count("default") == 2
