from hypothesis import given
from hypothesis import strategies as st
from ticketing import ids


@given(st.integers(min_value=1, max_value=ids.MAX_ID))
def test_every_alias_resolves_back_to_its_id(ticket_id):
    if ids.allocatable(ticket_id):  # ids whose number is all digits are never handed out
        assert ids.parse(ids.number_for(ticket_id)).ticket_id == ticket_id
    assert ids.parse(ids.key_for(ticket_id)).ticket_id == ticket_id
    assert ids.parse(ids.ref_for("INC", ticket_id)) == ids.Identifier(ticket_id, "INC")
    assert ids.parse(str(ticket_id)).ticket_id == ticket_id


@given(st.integers(min_value=1, max_value=ids.MAX_ID))
def test_allocatable_ids_have_unambiguous_numbers(ticket_id):
    if ids.allocatable(ticket_id):
        number = ids.number_for(ticket_id)
        assert not number.isdigit() and len(number) == 8


@given(st.text(max_size=30))
def test_parse_never_crashes(text):
    parsed = ids.parse(text)
    assert parsed is None or 0 <= parsed.ticket_id <= ids.MAX_ID
