"""A ticket twice in one file (normalise.py, _last_row_wins): the later row is imported and a
warning names each earlier one; the same ticket number under two companies is two tickets,
with no warning. The rule is checked on hand-made files and, as a property, against a plain
reading of it over random files."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.imports.ingest.mapping import mapping_from_json
from kpis.imports.ingest.normalise import tickets_normalise
from kpis.imports.ingest.read import table_read

HEADER = "Company,Ticket,Title,Created"
COLUMNS = {"company": "Company", "external_id": "Ticket", "title": "Title", "created_at": "Created"}


def normalised(rows: list[tuple[str, str, str]]):
    """rows: (company, ticket, title); each created at a distinct minute."""
    lines = [HEADER] + [
        f"{company},{ticket},{title},2026-03-02 09:{i:02d}"
        for i, (company, ticket, title) in enumerate(rows)
    ]
    table = table_read(("\n".join(lines) + "\n").encode(), "export.csv")
    mapping = mapping_from_json(
        {"preset": "generic", "timezone": "UTC", "columns": COLUMNS}, table.columns
    )
    return tickets_normalise(table.frame, mapping)


def stored(result) -> list[tuple[str, str, str]]:
    return [
        (r["company"], r["external_id"], r["title"]) for r in result.tickets.iter_rows(named=True)
    ]


def warnings(result) -> list[tuple[int, str]]:
    found = result.problems.filter(result.problems["reason"].str.contains("appears again"))
    return list(zip(found["row"].to_list(), found["reason"].to_list(), strict=True))


def test_a_ticket_twice_keeps_the_later_row_and_names_the_earlier():
    result = normalised(
        [("Acme", "T-1", "first"), ("Acme", "T-2", "other"), ("Acme", "T-1", "later")]
    )
    # Spreadsheet rows: the header is row 1, so the tickets are rows 2, 3 and 4.
    assert stored(result) == [("Acme", "T-2", "other"), ("Acme", "T-1", "later")]
    assert warnings(result) == [(2, "ticket appears again at row 4; the later row is imported")]


def test_a_ticket_three_times_names_both_earlier_rows():
    result = normalised([("Acme", "T-1", "a"), ("Acme", "T-1", "b"), ("Acme", "T-1", "c")])
    assert stored(result) == [("Acme", "T-1", "c")]
    assert [row for row, _ in warnings(result)] == [2, 3]


def test_one_number_under_two_companies_is_two_tickets_and_no_warning():
    result = normalised([("Acme", "100", "acme's"), ("Birch", "100", "birch's")])
    assert stored(result) == [("Acme", "100", "acme's"), ("Birch", "100", "birch's")]
    assert warnings(result) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Acme", "Birch"]), st.sampled_from(["1", "2", "3", "4"])),
        min_size=1,
        max_size=12,
    )
)
def test_the_last_row_of_each_ticket_wins_in_file_order(keys):
    rows = [(company, ticket, f"row {i + 2}") for i, (company, ticket) in enumerate(keys)]
    last = {(c, t): i for i, (c, t, _title) in enumerate(rows)}
    expected = [row for i, row in enumerate(rows) if last[row[:2]] == i]
    result = normalised(rows)
    assert stored(result) == expected
    assert sorted(row for row, _ in warnings(result)) == [
        i + 2 for i, row in enumerate(rows) if last[row[:2]] != i
    ]
