import pytest

from acav_assets.evaluation.mecat_scoring import final_score
from acav_assets.evaluation.table2 import PAPER_TABLE2, paper_rows, render_table2


@pytest.mark.parametrize("system", sorted(set(PAPER_TABLE2) - {"Combined"}))
def test_the_final_score_formula_reproduces_the_published_scores(system):
    """The paper's Score follows from its nine group columns. Each column is rounded to 0.1 and
    the weights sum to 1, so the recomputed score may differ by up to 0.05 + 0.05."""
    row = paper_rows()[system]
    assert final_score(row) == pytest.approx(row["score"], abs=0.1)


def test_the_published_combined_row_is_inconsistent_with_its_own_columns():
    """Recorded, not fixed: the paper's Combined row gives 36.6, its columns give 36.32."""
    row = paper_rows()["Combined"]
    assert final_score(row) == pytest.approx(36.32, abs=0.01) and abs(final_score(row) - row["score"]) > 0.1


def test_table_renders_paper_rows_beside_scored_systems():
    scored = {"my-run": {**{k: 50.0 for k in paper_rows()["WavCaps"]}, "pure_speech": None, "score": None}}
    table = render_table2(scored).splitlines()
    assert table[0].startswith("| system | source | long | short | speech pure")
    assert len(table) == 2 + len(PAPER_TABLE2) + 1
    assert table[-1] == "| my-run | scored here | 50.0 | 50.0 | n/a | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | n/a |"
    assert "| ACAVCaps | paper | 76.6 | 75.7 | 64.2 | 64.9 | 60.5 | 41.1 | 59.5 | 28.0 | 34.8 | 60.9 |" in table
    assert len(render_table2(scored, include_paper=False).splitlines()) == 3


def test_a_score_counting_an_absent_group_as_zero_is_marked():
    row = {**paper_rows()["WavCaps"], "pure_speech": None}
    row["score"] = final_score(row)
    table = render_table2({"no-s00": row}, include_paper=False).splitlines()
    assert table[2] == (f"| no-s00 | scored here | 47.3 | 50.9 | n/a | 30.1 | 15.9 | 19.4 | 46.5 | 20.0 | 9.2 "
                        f"| {row['score']:.1f}* |")
    assert table[-1].startswith("\\* a group without clips (n/a) counts as 0")
    # pure speech weighs 0.4 · 0.6 / 2 in the score
    assert row["score"] == pytest.approx(final_score(paper_rows()["WavCaps"]) - 0.12 * 27.3)
