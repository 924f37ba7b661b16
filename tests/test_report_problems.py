"""The problems a tool report keeps (evidence/problems.py): the first 1,000 named, then one
entry counting the rest, in words."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evidence.problems import PROBLEMS_KEPT, problems_capped, problems_count


def _problems(n: int) -> list[dict]:
    return [{"row": i + 2, "column": "Device", "value": "", "reason": "empty"} for i in range(n)]


def test_up_to_the_limit_every_problem_is_kept_as_it_is():
    assert problems_capped(_problems(3), limit=3) == _problems(3)
    assert problems_capped([], limit=3) == []


def test_past_the_limit_one_entry_counts_the_rows_left_out():
    # 5 problems, limit 2: rows 2 and 3 named, then 5 - 2 = 3 more left out; 2 + 3 = 5 counted.
    capped = problems_capped(_problems(5), limit=2)
    assert capped[:2] == _problems(2)
    assert capped[2] == {
        "row": None,
        "column": "",
        "value": "",
        "reason": "and 3 more rows left out: fix the file and import it again",
        "left_out": 3,
    }
    assert problems_count(capped) == 5
    # One over: "1 more row"; 150,000 with the house limit: 149,000 more, with its comma.
    assert problems_capped(_problems(3), limit=2)[-1]["reason"].startswith("and 1 more row left")
    big = problems_capped(_problems(150_000))
    assert len(big) == PROBLEMS_KEPT + 1 == 1001
    assert big[-1]["reason"].startswith("and 149,000 more rows left out")


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=100))
def test_capping_keeps_at_most_the_limit_plus_one_and_counts_every_row(n, limit):
    capped = problems_capped(_problems(n), limit=limit)
    assert len(capped) == min(n, limit) + (n > limit)
    assert capped[: min(n, limit)] == _problems(n)[:limit]
    assert problems_count(capped) == n
