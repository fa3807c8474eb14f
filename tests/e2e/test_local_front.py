"""The local run's front door over HTTP (issue 19): what a production front door does with
chunked bodies, bursts, short or malformed bodies, and encoded path parameters -- and the
embedded AWS's reset, in-process answers and fault injection.

Each of these failed before the front door was waitress: a chunked body was never read (an SPP
update answered 200 with nothing applied, Kapture and servicedesk a 400, the chunk parsed as the
next request); a short body held a thread forever; ``Content-Length: -1`` read to EOF and then
applied the write; ``A%41`` was decoded twice.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from devkit.local.run import LocalRun, is_loopback, spawned

REQUEST_TIMEOUT = 1.5  # the front door's LOCAL_REQUEST_TIMEOUT for this module's run
CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


@pytest.fixture(scope="session")  # not "module": xdist's worksteal interleaves modules, each return a new spawn
def run():
    """A local run of its own (a short request timeout; its log kept to look at)."""
    lines: list[str] = []
    with spawned(env={"LOCAL_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)}, log_lines=lines) as url:
        parts = urlsplit(url)
        yield parts.hostname, parts.port, lines


def _conn(run) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(run[0], run[1], timeout=30)


def call(run, method, path, body=None, headers=None, chunked=False):
    conn = _conn(run)
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if chunked and body is not None:
        data = body
        # a few chunks, as .NET's PostAsJsonAsync, Node streams or Java's chunked mode send them
        pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
        conn.request(method, path, body=iter(pieces), headers=headers, encode_chunked=True)
    else:
        conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


def ticket(run, identifier):
    status, _, data = call(run, "GET", f"/tickets/{identifier}", headers=CANONICAL)
    assert status == 200, data
    return json.loads(data)


def newest_entry(run, ticket_id):
    status, _, data = call(run, "GET", f"/tickets/{ticket_id}/history?limit=1", headers=CANONICAL)
    assert status == 200, data
    return json.loads(data)["items"][0]


# -- 1. chunked request bodies, in every dialect ------------------------------------------------
CHUNKED = {
    "canonical": (1003, "PATCH", "/tickets/1003", CANONICAL, {"title": "Chunked canonical"}),
    "spp": (1001, "PUT", "/api/tickets/8FC95B0F", {"Authorization": "Bearer tkt_demo_spp"}, {"subject": "Chunked SPP"}),
    "kapture": (
        1004,
        "POST",
        "/update-ticket-from-other-source.html/v.2.0",
        {"Authorization": "Basic tkt_demo_kapture"},
        [{"ticket_id": "1004", "comment": "Chunked Kapture", "sub_status": "PS"}],
    ),
    "servicedesk": (
        1001,
        "POST",
        "/api/Tickets/WorkflowPush",
        {"Authorization": "Bearer tkt_demo_servicedesk"},
        {"TicketId": None, "TicketREF": "INC-001001", "Action": 207, "UserProviderKey": None, "Note": "Chunked"},
    ),
    "myhrw": (
        1001,
        "PUT",
        "/tickets/1001/tasks/1/partnertickets/TKT0196",
        {"Authorization": "Bearer tkt_demo_myhrw"},
        {"id": "TKT0196", "shortdescription": "Chunked MyHRW", "status": "Open", "priority": "1 - Urgent"},
    ),
    "particlespace": (
        1002,
        "PUT",
        "/api/v1/ticket/tic_0c48sol",
        {"Authorization": "Bearer tkt_demo_particlespace", "Content-Type": "application/x-www-form-urlencoded"},
        b"title=Chunked+ParticleSpace&description=Leak+under+the+sink&status=ON_HOLD&notify=0&time=&type=email"
        b"&contacts=chunked%40example.com&automated=0",
    ),
}


@pytest.mark.parametrize("dialect", list(CHUNKED))
def test_a_chunked_body_is_read_and_applied_in_every_dialect(run, dialect):
    ticket_id, method, path, headers, body = CHUNKED[dialect]
    before = ticket(run, ticket_id)["version"]
    status, _, data = call(run, method, path, body, headers, chunked=True)
    assert 200 <= status < 300, data[:500]
    after = ticket(run, ticket_id)
    assert after["version"] == before + 1, f"{dialect}: answered {status} but nothing applied"
    assert newest_entry(run, ticket_id)["dialect"] == dialect
    if dialect == "canonical":
        assert after["title"] == "Chunked canonical"
    if dialect == "spp":
        assert after["title"] == "Chunked SPP"
    if dialect == "particlespace":
        assert after["title"] == "Chunked ParticleSpace"


def test_a_chunked_body_on_a_kept_alive_connection_is_not_read_as_the_next_request(run):
    conn = _conn(run)
    body = json.dumps({"title": "Kept alive"}).encode()
    headers = {**CANONICAL, "Content-Type": "application/json"}
    conn.request("PATCH", "/tickets/1005", body=iter([body[:5], body[5:]]), headers=headers, encode_chunked=True)
    first = conn.getresponse()
    assert first.status == 200, first.read()
    first.read()
    conn.request("GET", "/tickets/1005", headers=CANONICAL)  # the same connection
    second = conn.getresponse()
    assert second.status == 200 and json.loads(second.read())["title"] == "Kept alive"
    conn.close()


# -- 2. a burst of new connections ---------------------------------------------------------------
def test_a_burst_of_100_new_connections_gets_100_answers(run):
    n, barrier = 100, threading.Barrier(100)
    answers: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait(timeout=30)
            conn = _conn(run)  # a new connection each
            conn.request("GET", "/tickets/1001", headers=CANONICAL)
            status = conn.getresponse().status
            conn.close()
            with lock:
                answers.append(status)
        except Exception as err:
            with lock:
                errors.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and answers.count(200) == n, (errors[:5], len(answers))


# -- 3. bodies shorter than their length, malformed lengths ----------------------------------------
def _raw(run, head: bytes, body: bytes, wait: float) -> bytes:
    """Send ``head`` and ``body`` on a socket of its own and read what comes back within ``wait``."""
    sock = socket.create_connection((run[0], run[1]), timeout=wait)
    sock.sendall(head + body)
    data = b""
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    finally:
        sock.close()
    return data


def _patch_head(length: str, ticket_id: int = 1006) -> bytes:
    return (
        f"PATCH /tickets/{ticket_id} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer tkt_demo_canonical\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_body_shorter_than_its_length_times_out_with_408_and_nothing_applied(run):
    before = ticket(run, 1006)
    body = json.dumps({"title": "Never whole"}).encode()
    started = time.monotonic()
    answer = _raw(run, _patch_head(str(len(body) + 100)), body, wait=REQUEST_TIMEOUT + 8)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert took < REQUEST_TIMEOUT + 6, f"answered after {took:.1f} s"
    time.sleep(0.3)
    after = ticket(run, 1006)
    assert (after["version"], after["title"]) == (before["version"], before["title"])


def test_a_body_dripped_byte_by_byte_still_times_out(run):
    sock = socket.create_connection((run[0], run[1]), timeout=REQUEST_TIMEOUT + 8)
    sock.sendall(_patch_head("1000"))
    started, data = time.monotonic(), b""
    sock.settimeout(0.4)
    try:
        while time.monotonic() - started < REQUEST_TIMEOUT + 8 and not data:
            try:
                sock.sendall(b" ")  # activity, never the whole body
            except OSError:
                break
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]


@pytest.mark.parametrize("length", ["-1", "abc", "12, 13"])
def test_a_malformed_content_length_is_answered_400_and_nothing_applied(run, length):
    before = ticket(run, 1007)
    body = json.dumps({"title": f"Malformed {length}"}).encode()
    answer = _raw(run, _patch_head(length, 1007), body, wait=5)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    time.sleep(0.3)
    assert ticket(run, 1007)["version"] == before["version"]


# -- 4. path parameters decoded once ---------------------------------------------------------------
def test_a_partner_ticket_id_with_a_percent_sign_round_trips(run):
    auth = {"Authorization": "Bearer tkt_demo_myhrw"}
    body = {"id": "A%41", "status": "New", "priority": "3 - Moderate"}
    status, headers, data = call(run, "POST", "/tickets/1001/tasks/2/partnertickets", body, auth)
    assert status == 201, data
    location = headers["location"]
    assert location.endswith("/partnertickets/A%2541"), location
    path = urlsplit(location).path
    update = {"id": "A%41", "status": "Open", "priority": "2 - High", "shortdescription": "Found again"}
    status, _, data = call(run, "PUT", path, update, auth)
    assert status == 200, data
    assert json.loads(data)["id"] == "A%41"
    task = next(t for t in ticket(run, 1001)["tasks"] if t["id"] == 2)
    assert [pt["id"] for pt in task["partner_tickets"]] == ["A%41"]


def test_headers_reach_the_handler_as_sent(run):
    # API Gateway keeps the header names' case, and each value of a repeated header
    status, headers, _ = call(run, "GET", "/tickets/1001", headers=CANONICAL)
    assert status == 200 and "x-amzn-requestid" in headers
    conn = _conn(run)
    conn.request("GET", "/tickets/1001", headers=CANONICAL)
    resp = conn.getresponse()
    resp.read()
    assert "x-amzn-RequestId" in [k for k, _ in resp.getheaders()]
    conn.close()


# -- 5. reset, with the stream pump running -----------------------------------------------------------
def test_reset_leaves_no_traceback_from_the_stream_pump(run):
    lines = run[2]
    for i in range(3):
        # a change on the stream, then reset while the pump may be holding an iterator of it
        call(run, "PATCH", "/tickets/1002", {"title": f"Before reset {i}"}, CANONICAL)
        status, _, _ = call(run, "POST", "/_local/reset")
        assert status == 200
    call(run, "PATCH", "/tickets/1002", {"title": "After reset"}, CANONICAL)
    time.sleep(1.5)  # the background pump's rounds: its reads, and its batch once the 1 s window has passed
    log = "".join(lines)
    assert "Traceback" not in log and "KeyError" not in log, log[-3000:]
    assert ticket(run, 1002)["title"] == "After reset"


def test_dev_endpoints_answer_loopback_peers_only():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.10") and is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("192.0.2.10") and not is_loopback("") and not is_loopback("::ffff:192.0.2.1")

    class Stub:
        wsgi = LocalRun.wsgi

        def dev_endpoint(self, *args):
            raise AssertionError("a dev endpoint answered a peer that is not loopback")

    import io

    for peer, path in [("192.0.2.10", "/_local/reset"), ("198.51.100.7", "/_local/"), ("192.0.2.10", "/openapi.json")]:
        environ = {
            "REQUEST_METHOD": "POST" if path.endswith("reset") else "GET",
            "REQUEST_URI": path,
            "PATH_INFO": path,
            "REMOTE_ADDR": peer,
            "wsgi.input": io.BytesIO(),
        }
        seen = []
        Stub().wsgi(environ, lambda status, headers, seen=seen: seen.append(status))
        assert seen == ["404 Not Found"], (peer, path, seen)
