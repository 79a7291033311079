"""One table vocabulary: the data dictionary, its page, Parquet column descriptions, provenance in
every metadata file, the inputs of solve/flow JSON, BatchResult.to_frame."""

import datetime
import importlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import wnlab
from wnlab.cli import main
from wnlab.cli.reproduce import TARGETS
from wnlab.io import tables as T

ROOT = Path(__file__).resolve().parents[1]


def test_docs_page_is_the_data_dictionary():
    page = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    assert page == T.data_dictionary_markdown(), "regenerate: python -m wnlab.io.tables > docs/tables.md"
    for name in T.COLUMNS:
        assert f"| `{name}` |" in page


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_table_uses_the_dictionary(target):
    mod = importlib.import_module(f"wnlab.experiments.{TARGETS[target]}")
    assert mod.COLUMNS, target
    T.check_columns(mod.COLUMNS)


def test_sweep_columns_are_in_the_dictionary():
    from wnlab.sweep.config import GRID_PARAMS, RESULT_COLUMNS, SETTINGS

    T.check_columns([*GRID_PARAMS, *RESULT_COLUMNS, "run_id", "tol", "max_iter", "engine", "base_seed", "sampling"])
    assert {"seeds", "chunk_size", "plugins"} >= set(SETTINGS) - set(T.COLUMNS)   # settings, not columns


def test_one_name_per_quantity():
    """The names the tables used to disagree on are gone from the dictionary."""
    for old in ("min_norm_x_norm", "dist_to_x_star", "init_scale", "heldout_error", "train_loss", "converged",
                "mean_steps", "i"):
        assert old not in T.COLUMNS
    descriptions = [c.description for c in T.COLUMNS.values()]
    assert len(set(descriptions)) == len(descriptions)


def test_write_table_refuses_an_unknown_column_before_writing(tmp_path):
    with pytest.raises(ValueError, match="'heldout_error' is not in the data dictionary"):
        T.write_table([{"heldout_error": 0.1}], ["heldout_error"], tmp_path / "t")
    assert not list(tmp_path.iterdir())
    extra = {"momentum": T.Column("a plugin's hyper-parameter")}
    T.write_table([{"momentum": 0.9}], ["momentum"], tmp_path / "t", extra=extra)
    assert (tmp_path / "t.csv").read_text() == "momentum\n0.9\n"


def test_parquet_schema_carries_the_descriptions(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"method": "gd", "x_norm": 1.5, "n_iter": 3, "t1": None}, {"method": "wn", "x_norm": 2.5, "n_iter": 4,
                                                                       "t1": 7}]
    cols = ["method", "x_norm", "n_iter", "t1"]
    paths = T.write_table(rows, cols, tmp_path / "r")
    assert [p.suffix for p in paths] == [".csv", ".parquet"]
    schema = pq.read_schema(paths[1])
    assert schema.names == cols
    for name in cols:
        meta = schema.field(name).metadata
        assert meta[b"description"].decode() == T.COLUMNS[name].description
        assert meta[b"unit"].decode() == T.COLUMNS[name].unit
    assert T.read_table(paths[1]) == [dict(rows[0], t1=None), dict(rows[1], t1=7.0)]


def _git_head():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def test_provenance_block(tmp_path):
    T.write_manifest(tmp_path / "m.json", {"x": 1}, backends=["numpy", "numba", "numpy"])
    meta = json.loads((tmp_path / "m.json").read_text())
    prov = meta["provenance"]
    assert meta["x"] == 1 and prov["backend"] == ["numba", "numpy"]
    created = datetime.datetime.fromisoformat(prov["created"])
    assert created.tzinfo is not None and abs(datetime.datetime.now(datetime.UTC) - created).total_seconds() < 600
    assert prov["wnlab"] == wnlab.__version__ and prov["versions"]["numpy"] == np.__version__
    assert isinstance(prov["command_line"], list)
    import wnlab.io.tables as mod

    from_checkout = (Path(mod.__file__).resolve().parents[3] / ".git").exists()
    if from_checkout and _git_head() and Path(mod.__file__).resolve().is_relative_to(ROOT):
        assert prov["git_commit"] == _git_head() and isinstance(prov["git_dirty"], bool)
    # optional packages appear when they were used (imported), with their own version
    pytest.importorskip("pandas")
    import pandas

    T.write_manifest(tmp_path / "m.json", {})
    assert json.loads((tmp_path / "m.json").read_text())["provenance"]["versions"]["pandas"] == pandas.__version__


def test_solve_and_flow_json_record_inputs_and_backend(tmp_path):
    out = tmp_path / "s.json"
    assert main(["solve", "--problem", "gaussian", "--m", "4", "--d", "9", "--seed", "3", "--method", "wn",
                 "--x0", ",".join(["0.1"] * 9), "--eta", "0.05", "--c", "2", "--tol", "1e-9", "--backend", "numpy",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    inp = data["inputs"]
    assert (inp["eta"], inp["c"], inp["tol"], inp["method"], inp["backend"]) == (0.05, 2.0, 1e-9, "wn", "numpy")
    p = wnlab.gaussian_problem(4, 9, seed=3)
    assert inp["problem"]["problem"] == "gaussian" and inp["problem"]["seed"] == 3
    assert inp["problem"]["x_star_norm"] == pytest.approx(p.g_star) and inp["problem"]["m"] == 4
    assert data["provenance"]["backend"] == ["numpy"] and "dist" in data and "dist_to_x_star" not in data
    out = tmp_path / "f.json"
    assert main(["flow", "--problem", "paper", "--g0", "0.5", "--w0", "0,1", "--c", "1", "--rtol", "1e-9",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["inputs"]["c"] == 1.0 and data["inputs"]["rtol"] == 1e-9 and data["inputs"]["solver"] == "DOP853"
    assert data["inputs"]["problem"]["problem"] == "paper" and data["dist"] >= 0 and "created" in data["provenance"]


def test_batch_result_to_frame():
    pytest.importorskip("pandas")
    p = wnlab.gaussian_problem(4, 12, seed=1)
    x0s = np.random.default_rng(2).standard_normal((3, 12))
    res = wnlab.solve_batch(p, "wn", x0s=x0s, eta=0.05, c=1.0, tol=1e-10)
    frame = res.to_frame()
    assert len(frame) == 3 and list(frame["method"]) == ["wn"] * 3 and list(frame["run"]) == [0, 1, 2]
    T.check_columns(frame.columns)
    for i in range(3):
        r = res[i]
        assert frame["x_norm"][i] == r.x_norm and frame["dist"][i] == r.dist and frame["g"][i] == r.g
        assert frame["n_iter"][i] == r.n_iter and frame["status"][i] == r.status.value
        assert frame["x_norm"][i] == pytest.approx(np.linalg.norm(r.x), rel=1e-12)   # against the full vector
    assert res.backend in ("numpy", "numba", "numpy+numba")


def test_figure1_metadata_names_the_backend_that_ran(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    assert main(["reproduce", "figure1", "--preset", "tiny", "--seeds", "1", "--backend", "numpy",
                 "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["config"]["backend"] == "numpy" and meta["provenance"]["backend"] == ["numpy"]
    pq = pytest.importorskip("pyarrow.parquet")
    assert pq.read_schema(tmp_path / "figure1.parquet").field("dist").metadata[b"description"]


def test_sweep_manifest_and_parquet(tmp_path):
    from wnlab import sweep as S

    cfg = {"sweep": {"seeds": 2, "tol": 1e-8, "max_iter": 20000},
           "grid": {"method": ["gd", "wn"], "problem": "gaussian", "m": 4, "d": 24, "problem_seed": 3,
                    "init_std": [0.01, 0.2], "eta": 0.02, "gamma": 0.02}}
    S.run_sweep(cfg, tmp_path, progress=False, backend=S.with_array_backend(S.serial_backend, "numpy"))
    prov = json.loads((tmp_path / "manifest.json").read_text())["provenance"]
    assert prov["backend"] == ["numpy"] and "numpy" in prov["versions"]
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    T.check_columns(header)
    assert "backend" not in header   # provenance, not a per-run column
    pq = pytest.importorskip("pyarrow.parquet")
    schema = pq.read_schema(tmp_path / "results.parquet")
    assert schema.names == header and schema.field("g0").metadata[b"description"].startswith(b"||x0||")


@pytest.mark.parametrize("backend, module, expect", [("numpy", None, "numpy"), ("numba", "numba", "numba"),
                                                     ("torch", "torch", "torch:")])
def test_batch_result_names_the_backend_that_ran(backend, module, expect):
    if module:
        pytest.importorskip(module)
    p = wnlab.gaussian_problem(4, 12, seed=1)
    x0s = np.random.default_rng(2).standard_normal((2, 12))
    res = wnlab.solve_batch(p, "wn", x0s=x0s, eta=0.05, c=1.0, tol=1e-10, backend=backend)
    assert res.backend.startswith(expect) and res[0].backend == res.backend
    if backend == "numpy":   # a composite records each phase's loop
        both = wnlab.solve_batch(p, "rpgd-then-gd", x0s=x0s, eta="1/(g^2 lmax)", t1=20, backend="numpy")
        assert both.backend == "numpy"
