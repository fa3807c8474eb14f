"""Property tests of the parsers that are ours (hypothesis), without AWS.

* form bodies: ``ticketing.http.Request.form``, SPP's PHP-style form (``spp.php_form``,
  ``spp.parse_body``) and ParticleSpace's form/JSON body (``particlespace.request.parse``);
* ParticleSpace contact lists: email and phone normalisation, the ``contacts`` list;
* servicedesk XML: generated WorkflowPushPost documents round trip through
  ``sd_body.parse_post``; any bytes give a WorkflowPushPost or a 400, nothing else;
* the Kapture date format (``yyyy-MM-dd HH:mm:ss``, ``kapture.parse_callback``).

Ids are ``tests/unit/test_ids.py``'s.  Every parser is fed through a real ``Request`` built
from an API Gateway proxy event, as the handlers get it.
"""

from __future__ import annotations

import base64
import json
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ticketing.catalog import default_catalog
from ticketing.dialects import kapture, spp
from ticketing.dialects.particlespace import contacts as ps_contacts
from ticketing.dialects.particlespace import request as ps_request
from ticketing.dialects.servicedesk import body as sd_body
from ticketing.dialects.servicedesk import datacontract, dialect
from ticketing.errors import BadRequest, DomainError, ValidationFailed
from ticketing.http import Request
from ticketing.workflow import get_workflow

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FORM = "application/x-www-form-urlencoded"
FLOWS = default_catalog().vocabulary("particlespace")
WORKFLOW = get_workflow()


def request(body: bytes, content_type: str | None = None, method: str = "PUT") -> Request:
    """The handlers' view of a request with this body (base64: any bytes go through)."""
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return Request.from_event(
        {
            "httpMethod": method,
            "path": "/",
            "headers": headers,
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
            "requestContext": {"requestId": "prop"},
        }
    )


def utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refused_as_bad_request(err: DomainError) -> bool:
    return err.status in (400, 415)


# -- ticketing.http.Request.form -------------------------------------------------------------------
texts = st.text(max_size=30)  # any characters but lone surrogates (no client can send one in a form)


@PROPS
@given(st.dictionaries(texts, texts, max_size=12))
def test_form_round_trip(fields):
    """What ``urlencode`` (a browser, ``qs.stringify``) writes, ``form()`` reads back."""
    assert request(urlencode(fields).encode(), FORM).form() == fields


@PROPS
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=8))
def test_form_last_value_of_a_repeated_key_wins(pairs):
    expected = {}
    for key, value in pairs:
        expected[key] = value
    assert request(urlencode(pairs).encode(), FORM).form() == expected


@PROPS
@given(st.binary(max_size=300))
def test_form_of_any_bytes_is_text_or_a_bad_request(body):
    try:
        fields = request(body, FORM).form()
    except BadRequest:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert all(utf8(k) and utf8(v) for k, v in fields.items()), "form fields must be storable text"


def test_form_refuses_more_than_a_thousand_fields():
    with pytest.raises(BadRequest):
        request(urlencode([(f"k{i}", "v") for i in range(1001)]).encode(), FORM).form()


# -- SPP: PHP-style form bodies --------------------------------------------------------------------
names = st.text(st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)), min_size=1, max_size=12)
values = st.text(min_size=1, max_size=20)  # an empty value is read as null (Laravel)
php_value = st.one_of(
    values | st.none(),
    st.lists(values | st.none(), min_size=1, max_size=5),
    st.dictionaries(names, values | st.none(), min_size=1, max_size=5),
)


def php_encode(data: dict[str, Any]) -> list[tuple[str, str]]:
    """PHP's http_build_query without indexes: ``a[]=1&a[]=2``, ``m[k]=v``, null as empty."""
    pairs = []
    for name, value in data.items():
        if isinstance(value, list):
            pairs += [(f"{name}[]", v or "") for v in value]
        elif isinstance(value, dict):
            pairs += [(f"{name}[{k}]", v or "") for k, v in value.items()]
        else:
            pairs.append((name, value or ""))
    return pairs


@PROPS
@given(st.dictionaries(names, php_value, max_size=6), st.randoms(use_true_random=False))
def test_php_form_round_trip(data, rnd):
    pairs = php_encode(data)
    # the order of different names' pairs does not matter; a list's own order does
    by_name: dict[str, list[tuple[str, str]]] = {}
    for key, value in pairs:
        by_name.setdefault(key.split("[")[0], []).append((key, value))
    groups = list(by_name.values())
    rnd.shuffle(groups)
    shuffled = [pair for group in groups for pair in group]
    assert spp.php_form(urlencode(shuffled)) == data


@PROPS
@given(names, st.lists(values, min_size=1, max_size=3), st.dictionaries(names, values, min_size=1, max_size=3))
def test_php_form_refuses_a_name_both_list_and_map(name, items, mapping):
    pairs = php_encode({name: items}) + [(f"{name}[{k}]", v) for k, v in mapping.items()]
    with pytest.raises(ValidationFailed) as refused:
        spp.php_form(urlencode(pairs))
    assert refused.value.errors[0].field == name


tag = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=20)


@PROPS
@given(st.lists(tag, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_spp_indexed_tags_are_read_in_index_order(tags, rnd):
    """``tags[0]=a&tags[1]=b`` (PHP's indexed keys), sent in any order, is the list [a, b]."""
    pairs = [(f"tags[{i}]", t) for i, t in enumerate(tags)]
    rnd.shuffle(pairs)
    body, given_names = spp.parse_body(request(urlencode(pairs).encode(), FORM))
    assert body.tags == tags
    assert given_names == {"tags"}


spp_body = st.fixed_dictionaries(
    {},
    optional={
        "status": st.integers(1, 8),
        "subject": st.text(string.ascii_letters + " ", min_size=1, max_size=40).filter(str.strip),
        "tags": st.lists(tag, max_size=5),
        "employees": st.lists(st.integers(1, 2**31 - 1), max_size=5),
        "order": st.text(string.digits, min_size=1, max_size=10),
        "metadata": st.dictionaries(
            st.text(string.ascii_lowercase, min_size=1, max_size=8),
            st.text(string.ascii_letters, min_size=1),
            max_size=4,
        ),
    },
)


@PROPS
@given(spp_body)
def test_spp_form_and_json_bodies_mean_the_same(data):
    """The same update sent as JSON and as a PHP form: the same SaveTicketRequest."""
    as_json = spp.parse_body(request(json.dumps(data).encode(), "application/json"))
    form = {k: [str(x) for x in v] if isinstance(v, list) else v for k, v in data.items() if v not in ([], {})}
    pairs = php_encode({k: str(v) if isinstance(v, int) else v for k, v in form.items()})
    as_form = spp.parse_body(request(urlencode(pairs).encode(), FORM))
    expected = {k: v for k, v in data.items() if v not in ([], {})}  # an empty list has no form spelling
    assert as_form[1] == set(expected)
    assert as_form[0].model_dump(include=set(expected)) == as_json[0].model_dump(include=set(expected))


content_types = st.sampled_from(["application/json", "text/json", FORM, "", "text/plain", "application/vnd.api+json"])


@PROPS
@given(st.binary(max_size=300), content_types)
def test_spp_body_of_any_bytes_parses_or_is_refused_as_a_bad_request(body, media):
    try:
        parsed, names_given = spp.parse_body(request(body, media or None))
    except DomainError as err:
        assert refused_as_bad_request(err), err
        return
    assert names_given <= set(spp.FIELDS)
    assert isinstance(parsed, spp.SaveTicketRequest)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@PROPS
@given(st.dictionaries(st.sampled_from([*spp.FIELDS, "other", "tags[]"]), json_values, max_size=5))
def test_spp_json_body_of_any_values_parses_or_is_refused_as_a_bad_request(data):
    try:
        spp.parse_body(request(json.dumps(data).encode(), "application/json"))
    except DomainError as err:
        assert refused_as_bad_request(err), err


# -- ParticleSpace: the body, its contact lists --------------------------------------------------------
flows = st.sampled_from([str(t.term) for t in FLOWS.terms])
line = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


def ps_parse(body: bytes, media: str | None) -> ps_request.ParticleSpaceTicketUpdate:
    return ps_request.parse(request(body, media), FLOWS)


@PROPS
@given(line, st.text(max_size=60), flows, st.sampled_from([str.lower, str.upper, str]), st.integers(0, 1))
def test_particlespace_form_round_trip(title, description, flow, case, automated):
    """The document's ``qs.stringify`` body, read back: the flow in any case, title trimmed."""
    fields = {"title": title, "description": description, "status": case(flow), "notify": 0, "automated": automated}
    parsed = ps_parse(urlencode(fields).encode(), FORM)
    assert (parsed.title, parsed.description, parsed.status) == (title.strip(), description, flow)
    assert (parsed.notify, parsed.automated) == (False, bool(automated))
    same = ps_parse(json.dumps(fields).encode(), "application/json")
    assert same == parsed


@PROPS
@given(st.binary(max_size=300), st.sampled_from(["application/json", FORM, "", "text/xml"]))
def test_particlespace_body_of_any_bytes_parses_or_is_refused_as_a_bad_request(body, media):
    try:
        ps_parse(body, media or None)
    except DomainError as err:
        assert refused_as_bad_request(err), err


@PROPS
@given(
    st.dictionaries(
        st.sampled_from([*ps_request.ParticleSpaceTicketUpdate.model_fields, "notifySubject", "notifyMessage"]),
        json_values,
        max_size=9,
    )
)
def test_particlespace_json_of_any_values_parses_or_is_refused_as_a_bad_request(data):
    try:
        ps_parse(json.dumps(data).encode(), "application/json")
    except DomainError as err:
        assert refused_as_bad_request(err), err


atom = st.text(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=10)
alnum = st.sampled_from(string.ascii_letters + string.digits)
hyphenated = st.text(string.ascii_letters + string.digits + "-", max_size=10)
label = alnum | st.builds(lambda a, m, b: a + m + b, alnum, hyphenated, alnum)  # a DNS label
tld = st.text(string.ascii_letters, min_size=2, max_size=6)
emails = st.builds(
    lambda local, labels, top: f"{'.'.join(local)}@{'.'.join([*labels, top])}",
    st.lists(atom, min_size=1, max_size=3),
    st.lists(label, min_size=1, max_size=3),
    tld,
)


@PROPS
@given(emails)
def test_email_normalisation_lowers_the_domain_only_and_is_idempotent(address):
    assume(len(address) <= 254 and len(address.partition("@")[0]) <= 64)
    normal = ps_contacts.normalise_email(address)
    local, _, domain = address.rpartition("@")
    assert normal == f"{local}@{domain.lower()}"
    assert ps_contacts.normalise_email(normal) == normal


@PROPS
@given(st.text(max_size=60))
def test_email_normalisation_of_any_text_is_none_or_a_fixed_point(text):
    normal = ps_contacts.normalise_email(text)
    assert normal is None or ps_contacts.normalise_email(normal) == normal


def _valid_us(digits: str) -> bool:
    import phonenumbers

    return phonenumbers.is_valid_number(phonenumbers.parse(digits, "US"))


# a North American number (area code, exchange, line) that the plan assigns: only valid numbers
# are accepted (libphonenumber's is_valid_number), so the writing properties draw from those
nanp = st.from_regex(r"\A[2-9][0-9]{2}[2-9][0-9]{6}\Z").filter(_valid_us)
phone_styles = [
    lambda d: d,
    lambda d: f"({d[:3]}) {d[3:6]}-{d[6:]}",
    lambda d: f"{d[:3]}.{d[3:6]}.{d[6:]}",
    lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}",
    lambda d: f"+1 {d[:3]} {d[3:6]} {d[6:]}",
    lambda d: f"+1{d}",
    lambda d: f"1 ({d[:3]}) {d[3:6]} {d[6:]}",
]


@PROPS
@given(nanp, st.sampled_from(phone_styles))
def test_phone_normalisation_is_e164_whatever_the_writing(digits, style):
    assert ps_contacts.normalise_phone(style(digits)) == f"+1{digits}"


@PROPS
@given(st.text(string.digits + " ()+-.x#*", max_size=25) | st.text(max_size=25))
def test_phone_normalisation_of_any_text_is_none_or_a_fixed_point(text):
    normal = ps_contacts.normalise_phone(text)
    if normal is not None:
        assert re.fullmatch(r"\+[1-9][0-9]{3,14}", normal), normal
        assert ps_contacts.normalise_phone(normal) == normal


def notify_update(contacts: str, channel: str) -> dict[str, Any]:
    return {
        "title": "t",
        "description": "",
        "status": "OPEN",
        "notify": 1,
        "automated": 0,
        "type": channel,
        "contacts": contacts,
    }


def joined(items: list[str], spaces: list[str]) -> str:
    return ",".join(f"{pad}{item}{pad}" for item, pad in zip(items, spaces, strict=False))


@PROPS
@given(
    st.lists(emails, min_size=1, max_size=6),
    st.lists(st.integers(0, 5), max_size=6),
    st.lists(st.sampled_from(["", " ", "  "]), min_size=12, max_size=12),
)
def test_email_contact_list_is_normalised_deduplicated_in_order_and_idempotent(addresses, repeats, spaces):
    assume(all(len(a) <= 254 and len(a.partition("@")[0]) <= 64 for a in addresses))
    sent = addresses + [addresses[i % len(addresses)].upper() for i in repeats]  # repeats, in other case
    parsed = ps_request.ParticleSpaceTicketUpdate.model_validate(
        notify_update(joined(sent, spaces), "email"), context={"flows": FLOWS}
    )
    expected: list[str] = []
    for address in sent:
        normal = ps_contacts.normalise_email(address)
        if normal.lower() not in {e.lower() for e in expected}:
            expected.append(normal)
    assert parsed.contacts == expected
    again = ps_request.ParticleSpaceTicketUpdate.model_validate(
        notify_update(",".join(parsed.contacts), "email"), context={"flows": FLOWS}
    )
    assert again.contacts == parsed.contacts


@PROPS
@given(
    st.lists(st.tuples(nanp, st.sampled_from(phone_styles)), min_size=1, max_size=6),
    st.lists(st.sampled_from(["", " "]), min_size=6, max_size=6),
)
def test_sms_contact_list_is_e164_deduplicated_in_order(numbers, spaces):
    parsed = ps_request.ParticleSpaceTicketUpdate.model_validate(
        notify_update(joined([style(d) for d, style in numbers], spaces), "sms"), context={"flows": FLOWS}
    )
    assert parsed.contacts == list(dict.fromkeys(f"+1{d}" for d, _ in numbers))


CONTACT_ERRORS = re.compile(
    r"entry \d+ of \d+ is not a valid (email address|phone number)"
    r"|entries [\d, ]+ of \d+ are not valid (email address|phone number)s"
    r"|at most \d+ contacts|is required when notify=1|must be a comma-separated string"
)


@PROPS
@given(
    st.lists(st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cs",)), max_size=20), max_size=6),
    st.sampled_from(["email", "sms"]),
)
def test_any_contact_list_is_normalised_or_refused_by_position_only(items, channel):
    """A bad list is refused naming positions, never the contacts (they must not reach logs)."""
    body = notify_update(",".join(items), channel)
    try:
        parsed = ps_request.ParticleSpaceTicketUpdate.model_validate(body, context={"flows": FLOWS})
    except ValidationError as err:
        messages = [e["msg"] for e in err.errors() if e["loc"] == ("contacts",)]
        assert messages, err
        assert all(CONTACT_ERRORS.fullmatch(m) for m in messages), messages
        return
    normalise = ps_contacts.normalise_email if channel == "email" else ps_contacts.normalise_phone
    assert parsed.contacts
    assert all(normalise(c) == c for c in parsed.contacts)


# -- servicedesk: WorkflowPushPost in XML ------------------------------------------------------------------
NS = datacontract.NS_POSTS
NS_I = datacontract.NS_I
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00").filter(
        lambda c: not datacontract._XML_INVALID.match(c)
    ),
    max_size=40,
)
optional_int = st.none() | st.integers(1, 2**31 - 1)
posts = st.fixed_dictionaries(
    {"Action": st.sampled_from([a.name for a in WORKFLOW.actions])},
    optional={
        "TicketId": optional_int,
        "TicketREF": st.none() | st.from_regex(r"\A[A-Z]{3}-[0-9]{6}\Z"),
        "UserProviderKey": st.none() | xml_text.map(str.strip).filter(bool),
        "ServiceId": optional_int,
        "CustomerId": optional_int,
        "Note": st.none() | xml_text,
    },
)


def xml_value(value: Any) -> str:
    # a correct writer escapes carriage returns too: XML parsers turn a literal one into \n
    return escape(str(value)).replace("\r", "&#13;")


def render_post(fields: dict[str, Any], prefix: str, order: list[str], extra: bool) -> bytes:
    """A WorkflowPushPost as a DataContract serializer writes it (any prefix, member order)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{NS}"' if prefix else f'xmlns="{NS}"'
    members = []
    for name in order:
        value = fields[name]
        if value is None:
            members.append(f'<{p}{name} i:nil="true"/>')
        else:
            members.append(f"<{p}{name}>{xml_value(value)}</{p}{name}>")
    if extra:  # members of another namespace, and unknown members, are ignored
        members.insert(0, '<x:Other xmlns:x="urn:other">1</x:Other>')
        members.append(f"<{p}Unknown>2</{p}Unknown>")
    doc = f'<{p}WorkflowPushPost {xmlns} xmlns:i="{NS_I}">{"".join(members)}</{p}WorkflowPushPost>'
    return ('<?xml version="1.0" encoding="utf-8"?>' + doc).encode()


@PROPS
@given(
    posts,
    st.sampled_from(["", "p", "a0"]),
    st.randoms(use_true_random=False),
    st.booleans(),
    st.sampled_from(dialect.XML_TYPES),
)
def test_servicedesk_xml_round_trip(fields, prefix, rnd, extra, media):
    order = list(fields)
    rnd.shuffle(order)
    post = sd_body.parse_post(request(render_post(fields, prefix, order, extra), media, "POST"), WORKFLOW)
    assert post.action == WORKFLOW.action(fields["Action"])
    assert post.ticket_id == fields.get("TicketId")
    assert post.ticket_ref == fields.get("TicketREF")
    assert post.user_provider_key == fields.get("UserProviderKey")
    assert post.service_id == fields.get("ServiceId")
    assert post.customer_id == fields.get("CustomerId")
    assert post.note == fields.get("Note")


@PROPS
@given(posts)
def test_servicedesk_json_and_xml_mean_the_same(fields):
    xml = sd_body.parse_post(request(render_post(fields, "", list(fields), False), "text/xml", "POST"), WORKFLOW)
    as_json = sd_body.parse_post(request(json.dumps(fields).encode(), "application/json", "POST"), WORKFLOW)
    assert xml == as_json


@PROPS
@given(st.binary(max_size=400))
def test_servicedesk_xml_of_any_bytes_parses_or_is_a_bad_request(body):
    try:
        sd_body.parse_post(request(body, "application/xml", "POST"), WORKFLOW)
    except DomainError as err:
        assert err.status == 400, err


xml_names = st.sampled_from(["WorkflowPushPost", "Action", "Note", "TicketId", "a", "x:y"])


def element(children: list[str], name: str, ns: str, text: str) -> str:
    return f"<{name}{ns}>{xml_value(text)}{''.join(children)}</{name}>"


xml_namespaces = st.sampled_from(["", f' xmlns="{NS}"'])
xml_leaf = st.builds(lambda n, ns, t: element([], n, ns, t), xml_names, xml_namespaces, xml_text)
# Well-formed or not quite: random nesting of known and other names, namespaces, nil, text.
xml_trees = st.recursive(
    xml_leaf,
    lambda inner: st.builds(
        element,
        st.lists(inner, max_size=4),
        xml_names,
        st.sampled_from(["", f' xmlns="{NS}"', ' xmlns:x="urn:x"', f' xmlns:i="{NS_I}" i:nil="true"']),
        xml_text,
    ),
    max_leaves=30,
)


@PROPS
@given(xml_trees, st.booleans())
def test_servicedesk_xml_of_any_tree_parses_or_is_a_bad_request(tree, declaration):
    body = (('<?xml version="1.0"?>' if declaration else "") + tree).encode()
    try:
        post = sd_body.parse_post(request(body, "text/xml", "POST"), WORKFLOW)
    except DomainError as err:
        assert err.status == 400, err
        return
    assert post.action in WORKFLOW.actions


@FEW
@given(st.integers(datacontract.MAX_XML_DEPTH + 1, 2000), st.sampled_from(["<a>", f'<a xmlns="{NS}">']))
def test_servicedesk_deep_xml_is_a_bad_request(depth, opening):
    body = (opening * depth + "</a>" * depth).encode()
    with pytest.raises(BadRequest):
        sd_body.parse_post(request(body, "application/xml", "POST"), WORKFLOW)


@FEW
@given(st.sampled_from(["SYSTEM", "PUBLIC"]), st.text(string.ascii_letters, min_size=1, max_size=8))
def test_servicedesk_xml_with_a_dtd_or_entities_is_a_bad_request(kind, entity):
    doctype = (
        f'<!DOCTYPE WorkflowPushPost [<!ENTITY {entity} "{"x" * 10}">]>'
        if kind == "SYSTEM"
        else f'<!DOCTYPE WorkflowPushPost PUBLIC "-//x//y" "http://127.0.0.1/{entity}.dtd">'
    )
    body = f'{doctype}<WorkflowPushPost xmlns="{NS}"><Action>&{entity};</Action></WorkflowPushPost>'.encode()
    with pytest.raises(BadRequest):
        sd_body.parse_post(request(body, "application/xml", "POST"), WORKFLOW)


# -- Kapture: callback_time, yyyy-MM-dd HH:mm:ss --------------------------------------------------------------
zones = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-9, minutes=-30)),
        timezone(timedelta(hours=14)),
        kapture.zone_of(default_catalog().vocabulary("kapture")),
    ]
)
local_times = st.datetimes(datetime(kapture.MIN_YEAR, 1, 2), datetime(kapture.MAX_YEAR, 12, 30)).map(
    lambda d: d.replace(microsecond=0)
)


@PROPS
@given(local_times, zones, st.sampled_from(["", " ", "\t"]))
def test_kapture_callback_time_round_trip(local, zone, pad):
    text = local.strftime(kapture.DATE_FORMAT)
    when = kapture.parse_callback(f"{pad}{text}{pad}", zone)
    assert when == local.replace(tzinfo=zone).astimezone(UTC)
    assert when.tzinfo is not None
    assert kapture.format_time(when, zone) == text


@PROPS
@given(st.one_of(st.text(max_size=25), st.from_regex(r"\A\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z"), json_values), zones)
def test_kapture_callback_time_of_anything_is_a_time_none_or_a_bad_request(raw, zone):
    try:
        when = kapture.parse_callback(raw, zone)
    except BadRequest as err:
        assert err.status == 400
        return
    if when is not None:
        assert when.tzinfo is not None
        assert kapture.MIN_YEAR - 1 <= when.year <= kapture.MAX_YEAR + 1
        assert kapture.format_time(when, zone) == raw.strip()
    else:
        assert raw is None or (isinstance(raw, str) and not raw.strip())
