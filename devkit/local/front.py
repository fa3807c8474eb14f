"""The local run's front door: waitress, a maintained HTTP/1.1 server, in front of a WSGI app.

What it does that ``http.server`` did not: bodies sent with ``Transfer-Encoding: chunked``
are read (and handed on with their length, as API Gateway does); a malformed
``Content-Length`` (``-1``, ``abc``) is answered 400 and nothing else is read from that
connection; a request that has not fully arrived ``request_timeout`` seconds after its first
byte (a ``Content-Length`` larger than the body sent) is answered 408 and its connection
closed, so it neither holds a thread nor reaches a handler; a burst of new connections waits
in a listen backlog of 1024; connections are kept alive and idle ones closed after
``idle_timeout`` seconds.

Two things waitress's WSGI environ loses are kept for the API Gateway emulation: the
request headers as sent (names in their own case, repeated headers one by one:
``environ["ticket_hub.headers"]``), and the request target undecoded (``REQUEST_URI``), so
the path is decoded once, by the app.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, get_header_lines
from waitress.rfc7230 import HEADER_FIELD_RE
from waitress.server import create_server
from waitress.task import WSGITask
from waitress.utilities import Error

log = logging.getLogger("local")

HEADERS_KEY = "ticket_hub.headers"


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class _Parser(HTTPRequestParser):
    header_block = b""

    def parse_header(self, header_plus: bytes) -> None:
        self.header_block = header_plus
        super().parse_header(header_plus)

    def raw_headers(self) -> list[tuple[str, str]]:
        """The headers as the client sent them (waitress joins repeats and upper-cases names)."""
        block = self.header_block
        index = block.find(b"\r\n")
        out = []
        for line in get_header_lines(block[index + 2 :]) if index >= 0 else []:
            match = HEADER_FIELD_RE.match(line)
            if not match:
                continue
            name, value = match.group("name", "value")
            if b"_" in name:  # waitress drops these (header smuggling): so does the event
                continue
            out.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        return out


class _Task(WSGITask):
    def get_environment(self) -> dict[str, Any]:
        environ = super().get_environment()
        raw = getattr(self.request, "raw_headers", None)
        environ[HEADERS_KEY] = raw() if raw else []
        return environ

    def build_response_header(self) -> bytes:
        """waitress's, with the app's header names in their own case (waitress capitalises them:
        API Gateway sends ``x-amzn-RequestId`` as the function gave it)."""
        spelled = {name.lower(): name for name, _ in self.response_headers}
        block = super().build_response_header().decode("latin-1")
        first, _, rest = block.partition("\r\n")
        lines = []
        for line in rest.split("\r\n"):
            name, sep, value = line.partition(":")
            lines.append(spelled.get(name.lower(), name) + sep + value if sep else line)
        return "\r\n".join([first, *lines]).encode("latin-1")


class _Channel(HTTPChannel):
    parser_class = _Parser
    task_class = _Task


def serve(
    app: Any,
    host: str,
    port: int,
    *,
    threads: int = 8,
    request_timeout: float = 10.0,
    idle_timeout: int = 120,
) -> Any:
    """A waitress server of ``app`` on ``host:port`` (not yet running: call ``.run()``);
    ``.effective_port`` is the port it got."""
    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        backlog=1024,
        connection_limit=1000,
        channel_timeout=idle_timeout,
        cleanup_interval=1,  # how often stalled requests are looked for
        ident="ticket-hub-local",
        clear_untrusted_proxy_headers=True,
        expose_tracebacks=False,
    )
    server.channel_class = _Channel
    _answer_stalled_requests(server, request_timeout)
    return server


def _answer_stalled_requests(server: Any, timeout: float) -> None:
    """408 for a request still incomplete ``timeout`` seconds after it was first seen (waitress
    itself only closes a connection that has been silent for ``channel_timeout``, answering
    nothing; a client that drips a byte now and then would hold it forever)."""
    first_seen: dict[int, tuple[Any, float]] = {}  # channel's fd -> (its partial request, when first seen)
    maintenance = server.maintenance

    def check(now: float) -> None:
        maintenance(now)
        mono = time.monotonic()
        alive = set()
        for fd, channel in list(server.active_channels.items()):
            request = channel.request
            if request is None or channel.requests or request.completed:
                continue
            alive.add(fd)
            seen = first_seen.get(fd)
            if seen is None or seen[0] is not request:
                first_seen[fd] = (request, mono)
                continue
            if mono - seen[1] < timeout:
                continue
            with channel.requests_lock:
                if channel.request is not request or channel.requests:
                    continue
                log.info("request from %s incomplete after %.0f s: 408", channel.addr, timeout)
                request.error = RequestTimeout(f"The request did not arrive whole within {timeout:g} seconds.")
                request.completed = True
                request.empty = False
                channel.request = None
                channel.requests.append(request)
                channel.server.add_task(channel)
            alive.discard(fd)
        for fd in [fd for fd in first_seen if fd not in alive]:
            del first_seen[fd]

    server.maintenance = check
