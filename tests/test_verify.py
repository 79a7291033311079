"""``wnlab verify``: every check passes, outputs are written, a failure gives a non-zero exit."""

import json

import pytest

from wnlab import verify
from wnlab.cli import main
from wnlab.theory.verify_rows import failed


def test_all_checks_pass_and_rows_are_well_formed():
    rows = verify.run_checks()
    assert {r["check"].split("(")[0] for r in rows} >= {"lemma2.2", "lemma2.3", "lemma2.4", "lemma2.5", "thm2.6-I",
                                                       "example", "thm2.6-closer", "thm2.6-II", "thm2.7",
                                                       "thm3.2", "prop3.3"}
    for r in rows:
        assert set(r) == {"check", "statement", "prediction", "measured", "reference", "rel_gap", "passed"}
        assert r["reference"] in verify.REFERENCES
        assert r["passed"] is not None or r["reference"] == "measured"
    bad = failed(rows)
    assert not bad, verify.format_table(bad)


def test_cli_writes_json_and_markdown(tmp_path, capsys):
    js, md = tmp_path / "v.json", tmp_path / "v.md"
    assert main(["verify", "--only", "example", "lemma2.5", "--json", str(js), "--markdown", str(md)]) == 0
    data = json.loads(js.read_text())
    assert data["n_failed"] == 0 and data["n_rows"] == len(data["rows"]) > 0
    assert all(r["passed"] and r["reference"] in verify.REFERENCES for r in data["rows"])
    assert md.read_text().startswith("| check | statement |")
    assert "statements hold" in capsys.readouterr().out


def test_cli_exit_code_is_one_when_a_check_fails(monkeypatch, capsys):
    monkeypatch.setitem(verify.CHECKS, "example",
                        lambda cfg: [verify.row("example", "a statement that fails", 1.0, 2.0, False,
                                                      reference="closed form")])
    assert main(["verify", "--only", "example"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_one_row_schema_and_references():
    from wnlab.theory import verify_rows

    r = verify.row("x", "s", 2.0, 3.0, True, reference="measured")
    assert tuple(r) == verify_rows.FIELDS and r["rel_gap"] == 0.5 and r["passed"] is True
    with pytest.raises(ValueError, match="reference must be one of"):
        verify.row("x", "s", 2.0, 3.0, True, reference="a guess")


def test_cli_bad_output_directory(tmp_path, capsys):
    assert main(["verify", "--json", str(tmp_path / "missing" / "v.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unknown_check(capsys):
    with pytest.raises(ValueError, match="unknown check"):
        verify.run_checks(["lemma9"])
    assert main(["verify", "--only", "lemma9"]) == 2
    assert "unknown check" in capsys.readouterr().err


def test_help_lists_every_check():
    import wnlab.cli

    helptext = wnlab.cli.build_parser()._subparsers._group_actions[0].choices["verify"].format_help()
    for name in verify.CHECKS:
        assert name in helptext


def test_flow_command(tmp_path, capsys):
    out = tmp_path / "f.json"
    assert main(["flow", "--problem", "paper", "--g0", "0.1", "--w0", "0,1", "--c", "1", "--tol", "1e-24",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["status"] == "converged"
    assert data["x"] == pytest.approx([1.0, 0.594304], abs=1e-6)  # docs/math.md, "Worked example"
    assert data["gap_to_exact_limit"] < 1e-7
    assert main(["flow", "--problem", "paper", "--g0", "0", "--w0", "0,1", "--c", "1"]) == 1
    assert "not a minimum" in capsys.readouterr().out
    assert main(["flow", "--problem", "paper", "--g0", "0.1", "--w0", "0,1", "--c", "-1"]) == 2
    assert main(["flow", "--problem", "paper", "--g0", "0.1", "--w0", "0,1"]) == 2
    assert "--c" in capsys.readouterr().err
