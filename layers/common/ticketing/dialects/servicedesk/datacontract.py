"""XML as .NET's ``DataContractSerializer`` reads and writes it, for WorkflowPushPost and the results.

Reading: untrusted XML is parsed by defusedxml with DTDs refused (so no entity of any kind is
ever expanded or fetched), and its size, depth and element count bounded.  Writing: a pydantic
model as a DataContract document: members in ordinal order of their names, ``i:nil`` for a null,
``List<string>`` in the Arrays namespace, a list of contracts as one element per item.
"""

import re
import xml.etree.ElementTree as ET
from typing import Any, get_args
from xml.sax.saxutils import escape

from pydantic import BaseModel

from ticketing.errors import BadRequest, PayloadTooLarge

NS_I = "http://www.w3.org/2001/XMLSchema-instance"
NS_POSTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts"
NS_RESULTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"

MAX_XML_BYTES = 256 * 1024
MAX_XML_DEPTH = 8
MAX_XML_ELEMENTS = 256

# The characters XML 1.0 does not allow (its Char production's complement), spelled as the set
# they are rather than as "not one of the allowed": the same set, but compiled in well under a
# millisecond where the negated astral range took several at every cold start.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# -- reading ---------------------------------------------------------------------------------
class _LimitExceeded(Exception):
    pass


class _BoundedBuilder(ET.TreeBuilder):
    """Builds the tree, refusing documents deeper or larger than a WorkflowPushPost can be."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._depth += 1
        self._count += 1
        if self._depth > MAX_XML_DEPTH or self._count > MAX_XML_ELEMENTS:
            raise _LimitExceeded
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


def parse_xml(body: bytes | str) -> ET.Element:
    """Parse untrusted XML: no DTD (hence no entities, internal or external), bounded size."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    if len(body) > MAX_XML_BYTES:
        raise PayloadTooLarge(f"The XML request body is larger than {MAX_XML_BYTES} bytes.")
    parser = DefusedXMLParser(target=_BoundedBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(body)
        return parser.close()
    except DefusedXmlException as err:
        raise BadRequest("The XML request body may not contain a DTD or entity declarations.") from err
    except _LimitExceeded as err:
        raise BadRequest(
            f"The XML request body is nested deeper than {MAX_XML_DEPTH} levels "
            f"or has more than {MAX_XML_ELEMENTS} elements."
        ) from err
    except (ET.ParseError, ValueError, LookupError) as err:
        raise BadRequest(f"The request body is not well-formed XML: {err}.") from err


def members(root: ET.Element, contract: str, namespace: str, names: tuple[str, ...]) -> dict[str, str | None]:
    """The members of a DataContract document (``None`` for ``i:nil``), as the serializer reads
    them: elements of other namespaces and unknown members are ignored."""
    expected = f"{{{namespace}}}{contract}"
    if root.tag != expected:
        ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
        raise BadRequest(
            f"Expecting element '{contract}' from namespace '{namespace}'; "
            f"encountered element '{local}' from namespace '{ns}'."
        )
    fields: dict[str, str | None] = {}
    for child in root:
        if not child.tag.startswith(f"{{{namespace}}}"):
            continue  # elements of other namespaces are not members (DataContract ignores them)
        name = child.tag.rpartition("}")[2]
        if name not in names:
            continue  # unknown members are ignored, as DataContract does
        if name in fields:
            raise BadRequest(f"The element {name} is given more than once.")
        if len(child):
            raise BadRequest(f"The element {name} must hold a value, not elements.")
        nil = (child.get(f"{{{NS_I}}}nil") or "").strip().lower() in ("true", "1")
        fields[name] = None if nil else (child.text or "")
    return fields


# -- writing ---------------------------------------------------------------------------------
def clean(text: str) -> str:
    """``text`` with the characters XML cannot hold replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


def text(value: Any) -> str:
    """A value as XML character data (booleans as ``true`` / ``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(clean(str(value)))


def element(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} i:nil="true"/>'
    return f"<{name}>{text(value)}</{name}>"


def _strings(name: str, values: list[str]) -> str:
    """A DataContract ``List<string>``."""
    if not values:
        return f'<{name} xmlns:a="{NS_ARRAYS}"/>'
    items = "".join(f"<a:string>{text(v)}</a:string>" for v in values)
    return f'<{name} xmlns:a="{NS_ARRAYS}">{items}</{name}>'


def _members(contract: type[BaseModel], values: dict[str, Any]) -> str:
    """The contract's members in ordinal order of their names; a member named in the contract's
    ``xml_as`` is written with another member's value (an enum, by its name)."""
    xml_as: dict[str, str] = getattr(contract, "xml_as", {})
    fields = contract.model_fields
    out = []
    for name in sorted(fields):
        value = values[xml_as.get(name, name)]
        annotation = fields[name].annotation
        if not isinstance(value, list):
            out.append(element(name, value))
        elif annotation == list[str]:
            out.append(_strings(name, value))
        else:  # a list of contracts: one element per item, named as its contract
            (item,) = get_args(annotation)
            out.append(f"<{name}>{''.join(_contract(item, v) for v in value)}</{name}>")
    return "".join(out)


def _contract(contract: type[BaseModel], values: dict[str, Any]) -> str:
    name = contract.__name__
    return f"<{name}>{_members(contract, values)}</{name}>"


def to_xml(contract: type[BaseModel], values: dict[str, Any], namespace: str | None = NS_RESULTS) -> str:
    """``values`` as a DataContract document of ``contract`` (a model: its class name is the
    root element's, its fields the members; only their names and types are read)."""
    name = contract.__name__
    if namespace is None:
        return f"<{name}>{_members(contract, values)}</{name}>"
    return f'<{name} xmlns:i="{NS_I}" xmlns="{namespace}">{_members(contract, values)}</{name}>'
