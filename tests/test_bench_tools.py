"""The benchmark tooling (tables, interleaved timing, the suite runner); no timings asserted."""

from __future__ import annotations

import json

import pytest

from bench import common, run


def test_table_ratios_and_renderings(tmp_path):
    t = common.Table("demo_table", peers=("numpy", "torch"))
    row = t.add("case a", 2e-3, numpy=1e-3, torch=None)
    assert row["ratio_numpy"] == pytest.approx(2.0) and row["ratio_torch"] is None
    t.note("a note")
    text = t.to_text()
    assert "== demo_table ==" in text and "2.00 ms" in text and "2.00x" in text and "a note" in text
    md = t.to_markdown()
    assert "| case a | 2.00 ms | 1.00 ms | 2.00x | - | - |" in md
    path = t.report(out_dir=tmp_path)
    data = json.loads((tmp_path / "demo_table.json").read_text())
    assert path == tmp_path / "demo_table.md" and data["rows"][0]["tapeflow"] == 2e-3
    assert data["environment"]["cpus"] and data["time"]
    with pytest.raises(ValueError, match="unknown peers"):
        t.add("case b", 1.0, keras=1.0)


def test_compare_times_every_callable_and_checks_its_arguments():
    calls = {"a": 0, "b": 0}

    def a():
        calls["a"] += 1

    def b():
        calls["b"] += 1

    times = common.compare({"a": a, "b": b}, number=3, repeat=2, warmup=1, settle_s=0)
    assert set(times) == {"a", "b"} and all(v >= 0 for v in times.values())
    assert calls == {"a": 7, "b": 7}  # 1 warm-up + 2 rounds of 3
    calls.update(a=0, b=0)
    common.compare({"a": a, "b": b}, number=3, repeat=2, warmup=0, settle_s=0.01)
    assert calls["a"] > 6 and calls["b"] > 6  # settling calls before each round
    with pytest.raises(ValueError, match="clock"):
        common.compare({"a": a}, number=1, repeat=1, clock="sundial")
    assert common.fmt_time(None) == "-" and common.fmt_time(2.5) == "2.500 s"


def test_compare_rotates_the_order_of_the_rounds():
    order = []
    fns = {k: (lambda k=k: order.append(k)) for k in "abc"}
    common.compare(fns, number=1, repeat=3, warmup=0, settle_s=0)
    assert order == list("abcbcacab")  # every implementation leads one round


def test_the_suite_lists_existing_benchmarks_and_skips_unknown_names(capsys, monkeypatch, tmp_path):
    for name in run.BENCHMARKS:
        assert (run.ROOT / "bench" / f"{name}.py").is_file(), name
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    assert run.main(["--only", "no_such_benchmark"]) == 0
    out = capsys.readouterr().out
    assert "no_such_benchmark: no such benchmark, skipped" in out
    assert (tmp_path / "summary.md").is_file()


@pytest.mark.parametrize("name", ["convnet", "cifar_cnn", "resnet", "mobilenet", "text", "lstm", "mlp"])
def test_everyday_workloads_train_and_predict_in_tapeflow(name, monkeypatch):
    from bench import everyday

    shape, _, classes, integer = everyday.WORKLOADS[name]
    monkeypatch.setitem(everyday.WORKLOADS, name, (shape, 4, classes, integer))  # batches of 4: fast
    monkeypatch.setattr(everyday, "PREDICT_BATCHES", 1)
    result = everyday.run_keras_api("tapeflow", name, steps=1, rounds=1)
    assert result["step"] > 0 and result["predict"] > 0
