"""The correlation study: statistics against scipy, seeded bootstrap intervals, the CLI on the fake table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from naslib_snn import correlation
from naslib_snn.benchmarks import load, zc
from naslib_snn.cli import main

ASSETS = Path(__file__).parent / "assets"
TINY = ASSETS / "tiny_benchmark.json"

# hand-made data with ties in both variables
X = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0])
Y = np.array([2.0, 7.0, 1.0, 8.0, 2.0, 8.0, 1.0, 8.0, 2.0, 8.0, 4.0, 5.0])


def test_row_statistics_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(X), size=(25, len(X)))  # bootstrap-like resamples: many ties
    xs, ys = X[idx], Y[idx]
    kendall = correlation.kendall_tau_b_rows(xs, ys)
    spearman = correlation.spearman_rows(xs, ys)
    pearson = correlation.pearson_rows(xs, ys)
    for r in range(len(idx)):
        assert kendall[r] == pytest.approx(stats.kendalltau(xs[r], ys[r]).statistic, abs=1e-12)
        assert spearman[r] == pytest.approx(stats.spearmanr(xs[r], ys[r]).statistic, abs=1e-12)
        assert pearson[r] == pytest.approx(stats.pearsonr(xs[r], ys[r]).statistic, abs=1e-12)


def test_kendall_by_hand_and_constant_rows():
    # 4 points: pairs (1,2)+ (1,3)+ (1,4)- (2,3)+ (2,4)- (3,4)-  -> (3 - 3) / 6 = 0
    assert correlation.kendall_tau_b_rows([[1, 2, 3, 4]], [[1, 2, 3, 0]])[0] == pytest.approx(0.0)
    assert correlation.kendall_tau_b_rows([[1, 2, 3, 4]], [[4, 3, 2, 1]])[0] == pytest.approx(-1.0)
    assert math.isnan(correlation.kendall_tau_b_rows([[2, 2, 2]], [[1, 2, 3]])[0])
    assert math.isnan(correlation.pearson_rows(np.array([[2.0, 2.0, 2.0]]), np.array([[1.0, 2.0, 3.0]]))[0])


def test_minus_infinity_ranks_lowest_and_pearson_leaves_it_out():
    scores = [3.0, float("-inf"), 4.0, None, 5.0, 9.0, 2.0, 6.0, float("-inf"), 3.0]
    acc = [2.0, 7.0, 1.0, 8.0, 2.0, 8.0, 1.0, 8.0, 2.0, 8.0]
    out = correlation.correlation_stats(scores, acc, n_resamples=50, seed=0)
    assert (out["n_cells"], out["n_missing"], out["n_neg_inf"], out["n_pos_inf"]) == (10, 1, 2, 0)
    # -inf behaves as any value below every finite score; the missing cell is dropped
    lowest = [s if s is not None and math.isfinite(s) else -100.0 for s in scores]
    keep = [i for i, s in enumerate(scores) if s is not None]
    x = [lowest[i] for i in keep]
    y = [acc[i] for i in keep]
    assert out["kendall"]["value"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert out["spearman"]["value"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert out["kendall"]["n"] == out["spearman"]["n"] == 9
    finite = [i for i in keep if math.isfinite(scores[i])]
    assert out["pearson"]["n"] == 7 and out["pearson"]["n_excluded_nonfinite"] == 2
    assert out["pearson"]["value"] == pytest.approx(
        stats.pearsonr([scores[i] for i in finite], [acc[i] for i in finite]).statistic
    )
    assert out["kendall"]["p_value"] == pytest.approx(stats.kendalltau(x, y).pvalue)


def test_bootstrap_interval_is_seeded_and_contains_the_estimate():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = x + rng.normal(scale=0.8, size=40)
    for name in correlation.STATISTICS:
        point = {"kendall": stats.kendalltau, "spearman": stats.spearmanr, "pearson": stats.pearsonr}[name](x, y)
        low, high, n_valid = correlation.bootstrap_interval(x, y, name, n_resamples=400, seed=3)
        assert low <= point.statistic <= high
        assert n_valid == 400
        assert (low, high, n_valid) == correlation.bootstrap_interval(x, y, name, n_resamples=400, seed=3)
        assert (low, high) != correlation.bootstrap_interval(x, y, name, n_resamples=400, seed=4)[:2]
        half = correlation.bootstrap_interval(x, y, name, n_resamples=400, seed=3, level=0.5)
        assert low <= half[0] <= half[1] <= high
    assert correlation.bootstrap_interval(x[:2], y[:2], "kendall") == (None, None, 0)
    with pytest.raises(ValueError, match="unknown statistic 'tau'"):
        correlation.bootstrap_interval(x, y, "tau")
    with pytest.raises(ValueError, match="level"):
        correlation.bootstrap_interval(x, y, "kendall", level=95)


def test_best_cell_against_the_median():
    api = load(TINY)
    specs = api.specs()
    targets = api.column("test_accuracy")  # 70, 75.5, 62, 54, 79, 31, 66 -> median 66
    scores = [1.0, 3.0, None, float("-inf"), 2.0, 0.0, 3.0]
    best = correlation.best_cell(specs, scores, targets)
    assert best["op_indices"] == [2, 6, 3, 2, 1, 2] and best["n_tied"] == 2
    assert best["accuracy"] == 75.5 and best["median_accuracy"] == 66.0 and best["beats_median"]
    assert best["percentile"] == pytest.approx(100 * 5.5 / 7)  # 5 of 7 cells below, itself counted half
    assert best["best_accuracy"] == 79.0
    worst = correlation.best_cell(specs, [None, None, None, None, None, 5.0, None], targets)
    assert worst["accuracy"] == 31.0 and not worst["beats_median"] and worst["percentile"] == pytest.approx(100 / 14)
    assert correlation.best_cell(specs, [None] * 7, targets) is None


def _fake_zc() -> dict:
    """Hand-made scores for the fake table: 'good' follows accuracy, 'bad' is reversed, with gaps."""
    api = load(TINY)
    cells = {}
    for k, spec in enumerate(api):
        acc = api.query(spec, "test_accuracy")
        entry = {"good": {"score": acc / 10, "time": 0.01}, "bad": {"score": -acc, "time": 0.01}}
        if k == 5:
            entry["good"] = {"score": float("-inf"), "time": 0.01}
        if k == 6:
            entry["bad"] = {"score": None, "time": 0.0, "missing": "does not apply"}
        entry["val_accuracy"] = api.query(spec, "val_accuracy")
        cells[zc.arch_key(spec)] = entry
    return {"synthetic": cells, zc.META_KEY: {"format": "naslib_snn.zc"}}


def test_correlate_on_the_fake_table():
    result = correlation.correlate(TINY, _fake_zc(), n_resamples=100, seed=0)
    assert (result["n_cells"], result["n_forward"], result["n_backward"]) == (7, 3, 4)
    good, bad = result["proxies"]["good"], result["proxies"]["bad"]
    # the -inf cell is the least accurate one, so 'good' still ranks perfectly
    assert good["subsets"]["all"]["kendall"]["value"] == pytest.approx(1.0)
    assert good["subsets"]["all"]["n_neg_inf"] == 1 and good["subsets"]["all"]["pearson"]["n"] == 6
    assert bad["subsets"]["all"]["kendall"]["value"] == pytest.approx(-1.0)
    assert bad["subsets"]["all"]["n_missing"] == 1 and bad["missing_reasons"] == {"does not apply": 1}
    assert good["subsets"]["forward"]["n_cells"] == 3 and good["subsets"]["backward"]["n_cells"] == 4
    assert good["best_cell"]["accuracy"] == 79.0 and good["best_cell"]["beats_median"]
    assert bad["best_cell"]["accuracy"] == 31.0 and not bad["best_cell"]["beats_median"]
    ceiling = result["noise_ceiling"]
    # seeds 0/1 of the four repeated cells: (70, 68), (75.5, 74), (62, 63.5), (54, 51): same order
    assert ceiling["n_pairs"] == 4 and ceiling["kendall"]["value"] == pytest.approx(1.0)
    assert ceiling["mean_abs_difference"] == pytest.approx((2 + 1.5 + 1.5 + 3) / 4)
    # per kind of cell: three backward pairs (same order in both seeds), one forward-only pair (too few)
    assert ceiling["subsets"]["backward"]["kendall"]["n"] == 3
    assert ceiling["subsets"]["backward"]["kendall"]["value"] == pytest.approx(1.0)
    assert ceiling["subsets"]["forward"] is None
    report = correlation.markdown_report(result)
    assert "| *noise ceiling* | backward | 3 | 0 | 0 | +1.000" in report
    assert "| *noise ceiling* | forward |" not in report
    with pytest.raises(ValueError, match="'synflow' not in the zero-cost table; it has good, bad"):
        correlation.correlate(TINY, _fake_zc(), proxies=["synflow"])
    with pytest.raises(ValueError, match="unknown target"):
        correlation.correlate(TINY, _fake_zc(), target="loss")


def test_cli_writes_every_output(tmp_path, capsys):
    zc_path = tmp_path / "zc.json"
    zc.write_zc(zc_path, _fake_zc())
    out = tmp_path / "study"
    rc = main(["correlate", "--benchmark", str(TINY), "--zc", str(zc_path), "--proxies", "good,bad",
               "--out", str(out), "--n-resamples", "200", "--seed", "1"])
    assert rc == 0
    assert "noise ceiling" in capsys.readouterr().out.lower()
    result = json.loads((out / "correlation.json").read_text())
    assert set(result["proxies"]) == {"good", "bad"} and result["bootstrap"]["n_resamples"] == 200
    for proxy in ("good", "bad"):
        for subset in correlation.SUBSETS:
            stat = result["proxies"][proxy]["subsets"][subset]["kendall"]
            assert stat["value"] is None or stat["ci"] is None or stat["ci"][0] <= stat["ci"][1]
    markdown = (out / "correlation.md").read_text()
    assert "| good | all | 7 | 0 | 1 | +1.000" in markdown
    assert "| bad | all | 6 | 1 | 0 | -1.000" in markdown
    assert "*noise ceiling*" in markdown and "does not apply" in markdown
    for name in ("scatter_good.png", "scatter_bad.png", "scatter_grid.png", "noise_ceiling.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run with the same seed gives the same numbers
    assert main(["correlate", "--benchmark", str(TINY), "--zc", str(zc_path), "--out", str(tmp_path / "again"),
                 "--n-resamples", "200", "--seed", "1", "--no-plots"]) == 0
    again = json.loads((tmp_path / "again" / "correlation.json").read_text())
    assert again["proxies"] == result["proxies"] and again["noise_ceiling"] == result["noise_ceiling"]
    assert not list((tmp_path / "again").glob("*.png"))
    assert main(["correlate", "--benchmark", str(TINY), "--zc", str(zc_path), "--proxies", "nope",
                 "--out", str(tmp_path / "x")]) == 2
    assert "'nope' not in the zero-cost table" in capsys.readouterr().err


# ---- search-level view, ensemble, paired comparisons --------------------------------------------------------
def test_best_of_n_by_hand():
    targets = [1.0, 2.0, 3.0, 4.0]
    # n = the whole pool: the pick is deterministic; percentiles of 1, 2, 3, 4 among them: 12.5 ... 87.5
    reversed_ = correlation.best_of_n([4.0, 3.0, 2.0, 1.0], targets, 4, n_resamples=5)
    assert reversed_["expected_percentile"] == 12.5 and reversed_["oracle_percentile"] == 87.5
    assert reversed_["expected_accuracy"] == 1.0 and reversed_["pool"] == 4
    # missing scores rank lowest, below -inf's peers only by tie: cell 1 is the only scored one
    assert correlation.best_of_n([None, 1.0, float("-inf"), None], targets, 4, n_resamples=5)["expected_percentile"] == 37.5
    # a perfect proxy always finds the oracle's cell; any pool, any n
    perfect = correlation.best_of_n(targets, targets, 2, n_resamples=300, seed=1)
    assert perfect["expected_percentile"] == perfect["oracle_percentile"]
    # best of 2 from 4 by hand: max of a random pair is 2, 3, 3, 4, 4, 4 -> mean percentile (37.5 + 2*62.5 + 3*87.5) / 6
    assert perfect["oracle_percentile"] == pytest.approx((37.5 + 2 * 62.5 + 3 * 87.5) / 6, abs=3.0)
    # a restricted pool draws from it only but ranks the pick among all cells
    pool = np.array([True, True, False, False])
    assert correlation.best_of_n(targets, targets, 2, pool, n_resamples=5)["expected_percentile"] == 37.5
    assert correlation.best_of_n(targets, targets, 3, pool) is None  # fewer than n cells in the pool
    # a proxy that scored none of the pool's cells has no pick (not a random one)
    assert correlation.best_of_n([None] * 4, targets, 2) is None
    assert correlation.best_of_n([None, None, 5.0, 6.0], targets, 2, pool) is None
    assert correlation.best_of_n([float("-inf")] * 4, targets, 2, n_resamples=5) is not None  # -inf is a score
    with pytest.raises(ValueError, match="equal length"):
        correlation.best_of_n([1.0, 2.0], targets, 2)
    with pytest.raises(ValueError, match="n"):
        correlation.best_of_n(targets, targets, 0)


def test_rank_average_and_paired_difference():
    assert correlation.rank_average([1.0, 2.0, 3.0], [30.0, 10.0, 20.0]) == [2.0, 1.5, 2.5]
    # a missing score in either list makes the cell missing; ranks are over the rest
    assert correlation.rank_average([1.0, None, 3.0, float("-inf")], [5.0, 1.0, 6.0, 4.0]) == [2.0, None, 3.0, 1.0]
    with pytest.raises(ValueError, match="equal length"):
        correlation.rank_average([1.0], [1.0, 2.0])
    t = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    opposite = correlation.paired_difference(t, [-v for v in t], t, n_resamples=50)
    assert opposite["value"] == pytest.approx(2.0) and opposite["separate"] and opposite["n"] == 6
    same = correlation.paired_difference(t, t, t, n_resamples=50)
    assert same["value"] == 0.0 and same["ci"] == [0.0, 0.0] and not same["separate"]
    assert correlation.paired_difference([1.0, None], [1.0, 2.0], [1.0, 2.0]) is None  # fewer than 3 cells


def test_correlate_adds_best_of_n_ensemble_and_comparisons(tmp_path):
    fake = _fake_zc()
    for k, entry in enumerate(fake["synthetic"].values()):  # 'good' plays sahd, 'bad' one of NASLib's
        entry["sahd"], entry["snip"] = entry.pop("good"), entry.pop("bad")
        if entry["snip"]["score"] is None:
            entry["snip"] = {"score": -100.0, "time": 0.0}
        entry["hd"] = {"score": 1.0, "time": 0.0}
        # a perfect proxy that scores only 3 of 7 cells may not be the ensemble's partner
        entry["fisher"] = {"score": entry["sahd"]["score"] if k < 3 else None, "time": 0.0, "missing": "n/a"}
    result = correlation.correlate(TINY, fake, n_resamples=50, best_of=(2, 7), target_seed="mean")
    assert result["target_seed"] == "mean"
    assert result["ensemble"]["of"] == ["sahd", "snip"] and "rank_avg(sahd+snip)" in result["proxies"]
    # sahd ranks every scored cell in accuracy order, so best of all 7 is the best cell (100 - 100/14)
    assert result["proxies"]["sahd"]["best_of_n"]["all"]["7"]["expected_percentile"] == pytest.approx(100 - 50 / 7)
    assert result["proxies"]["sahd"]["best_of_n"]["forward"]["7"] is None  # 3 forward-only cells
    # every proxy sees the same draws, so the oracle's percentile is one number per pool and N
    oracles = {info["best_of_n"]["all"]["2"]["oracle_percentile"] for info in result["proxies"].values()}
    assert len(oracles) == 1
    pairs = {(c["a"], c["b"], c["subset"]) for c in result["comparisons"]}
    assert ("sahd", "hd", "all") in pairs and ("rank_avg(sahd+snip)", "sahd", "backward") in pairs
    assert ("sahd", "sahd_reference", "all") not in pairs  # no sahd_reference in this table
    report = correlation.markdown_report(result)
    assert "## Best of N" in report and "## Paired comparisons" in report and "mean over each cell's seeds" in report
    correlation.write_plots(result, tmp_path)
    for name in ("kendall_forest.png", "best_of_n.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_target_seed(tmp_path, capsys):
    zc_path = tmp_path / "zc.json"
    zc.write_zc(zc_path, _fake_zc())
    args = ["correlate", "--benchmark", str(TINY), "--zc", str(zc_path), "--n-resamples", "20", "--no-plots"]
    assert main(args + ["--out", str(tmp_path / "m"), "--target-seed", "mean"]) == 0
    result = json.loads((tmp_path / "m" / "correlation.json").read_text())
    assert result["target_seed"] == "mean" and result["targets"][0] == 69.0  # (70 + 68) / 2
    r = result["noise_ceiling"]["pearson"]["value"]
    assert f"2r/(1+r) = {2 * r / (1 + r):.3f}" in (tmp_path / "m" / "correlation.md").read_text()
    with pytest.raises(SystemExit):
        main(args + ["--out", str(tmp_path / "x"), "--target-seed", "avg"])
    assert "expected a training seed (an int) or 'mean', got 'avg'" in capsys.readouterr().err


def test_compare_puts_studies_side_by_side(tmp_path, capsys):
    zc_path = tmp_path / "zc.json"
    zc.write_zc(zc_path, _fake_zc())
    base = ["correlate", "--benchmark", str(TINY), "--zc", str(zc_path), "--n-resamples", "20", "--no-plots"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    assert main(base + ["--out", str(tmp_path / "b"), "--proxies", "good"]) == 0
    capsys.readouterr()
    assert main(["correlate", "--out", str(tmp_path / "cmp"), "--compare", f"v1={tmp_path / 'a'}",
                 f"v2={tmp_path / 'b'}"]) == 0
    table = (tmp_path / "cmp" / "side_by_side.md").read_text()
    assert table.splitlines()[0].startswith("| proxy | v1: all | v2: all | v1: forward | v2: forward |")
    assert "| *cells* | 7 | 7 | 3 | 3 | 4 | 4 |" in table
    bad_row = next(line for line in table.splitlines() if line.startswith("| bad |"))
    assert bad_row.count(" - ") == 3 and "-1.000" in bad_row  # v2 has no 'bad'
    assert main(["correlate", "--out", str(tmp_path / "x"), "--compare", "v1"]) == 2
    assert "expects LABEL=DIR" in capsys.readouterr().err
    assert main(["correlate", "--out", str(tmp_path / "x"), "--compare", f"v3={tmp_path / 'none'}"]) == 2
    assert "no study at" in capsys.readouterr().err
