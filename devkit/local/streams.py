"""DynamoDB Streams event sources, as Lambda's event source mappings run them, for the local run.

For every function of template.yaml with a ``Type: DynamoDB`` event, the pump reads the
table's stream on the embedded AWS (moto keeps the records of a table whose
``StreamSpecification`` is on), keeps the records its ``FilterCriteria`` let through, and
hands them to the handler in batches of ``BatchSize``, in order: a batch goes once it is full or
its first record has waited ``MaximumBatchingWindowInSeconds`` (``/_local/settle`` and a direct
``pump()`` hand on what is there at once).  With
``ReportBatchItemFailures`` the handler names the first record it failed on: that record
and the ones after it come again next time; after ``MaximumRetryAttempts`` retries the
batch's position goes to the on-failure queue (as Lambda sends it) and the pump moves on.
A handler that raises fails its whole batch the same way.

With moto in this process (no ``endpoint``: the local run and the tests), the records are read
from moto's stream shard itself (``_MotoShard``) rather than through ``GetRecords``: the same
records, one JSON round trip from moto's, as Lambda hands them on -- without a request each pump
makes per shard and consumer (serialising the records to JSON, parsing them back through
botocore's output shapes, a new shard iterator each time), which under load took a fifth of the
local run's CPU.  With an ``endpoint`` (moto's server elsewhere) the pump reads through
``GetRecords`` as before.

Not emulated: parallelisation factor, tumbling windows, bisecting a failed batch.
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from devkit import template as tpl
from devkit.local import runtime

log = logging.getLogger("local.streams")


def matches(record: Any, pattern: Any) -> bool:
    """Whether ``record`` matches an event filter ``pattern``: the part of the pattern syntax
    template.yaml uses (nesting; a leaf is a list of values, any of which matches: a value
    equal to the record's, or ``{"prefix": "..."}`` for a string starting with it).  Other
    content filters are refused, never ignored."""
    if isinstance(pattern, dict):
        return isinstance(record, dict) and all(k in record and matches(record[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        return any(_leaf(record, p) for p in pattern)
    raise ValueError(f"a filter pattern's leaves are lists of values, not {pattern!r}")


def check(pattern: Any) -> None:
    """Refuse a pattern ``matches`` does not emulate (at start, not on the first record)."""
    if isinstance(pattern, dict):
        for value in pattern.values():
            check(value)
    elif isinstance(pattern, list):
        for value in pattern:
            _leaf(None, value)
    else:
        raise ValueError(f"a filter pattern's leaves are lists of values, not {pattern!r}")


def _leaf(record: Any, value: Any) -> bool:
    if not isinstance(value, dict):
        return record == value
    if set(value) == {"prefix"} and isinstance(value["prefix"], str):
        return isinstance(record, str) and record.startswith(value["prefix"])
    raise ValueError(f"content filters other than prefix are not emulated locally: {value}")


def _as_lambda_gives_it(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as the event source hands it to a function: with the stream's ARN,
    and the creation time in epoch seconds (boto3 parses it into a datetime)."""
    change = dict(record["dynamodb"])
    when = change.get("ApproximateCreationDateTime")
    if hasattr(when, "utctimetuple") and when.tzinfo is None:  # moto's own record: a naive UTC time
        change["ApproximateCreationDateTime"] = calendar.timegm(when.utctimetuple())
    elif hasattr(when, "timestamp"):
        change["ApproximateCreationDateTime"] = int(when.timestamp())
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}


GET_RECORDS_LIMIT = 1000  # GetRecords' default (and largest) Limit: what one read of a shard gives


def _as_json(value: Any) -> Any:
    """What of moto's records is not JSON, as the event source's JSON has it: the record's time
    (a naive UTC datetime) in whole epoch seconds, a binary value as its base64 text."""
    if hasattr(value, "utctimetuple"):
        return calendar.timegm(value.utctimetuple())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


class _MotoShard:
    """A stream shard of moto in this process, read in place of ``GetRecords``: from a sequence
    number on, ``GET_RECORDS_LIMIT`` records at most, as the ``TRIM_HORIZON`` iterator and the
    ``NextShardIterator`` chain read them (moto answers ``GetRecords`` from the same list)."""

    def __init__(self, shard: Any, gate: Any = None):
        self.shard, self.gate = shard, gate
        self.position = shard.starting_sequence_number

    def current(self, table: Any) -> bool:
        """Whether this is still the table's shard (``/_local/reset`` makes the tables again)."""
        return table is not None and table.stream_shard is self.shard

    def read(self, arn: str, wanted: Any = None) -> list[dict[str, Any]]:
        """The next records, as the event source hands them on (``_as_lambda_gives_it``), those
        ``wanted`` lets through (a predicate on the record as it will be handed on; the images'
        binary values are still bytes there): each a copy, one JSON round trip from moto's."""
        with self.gate.lock if self.gate is not None else contextlib.nullcontext():
            start = self.position - self.shard.starting_sequence_number
            records = [r.to_json() for r in self.shard.items[start : start + GET_RECORDS_LIMIT]]
            self.position += len(records)
        if wanted is not None:
            records = [r for r in records if wanted(_as_lambda_gives_it(r, arn))]
        # a copy for the consumer (moto keeps the record): JSON, as the event source sends it;
        # orjson (~4x the json module) calls _as_json for datetimes too, as json does
        text = orjson.dumps(records, default=_as_json, option=orjson.OPT_PASSTHROUGH_DATETIME)
        return [_as_lambda_gives_it(r, arn) for r in orjson.loads(text)]


@dataclass
class _Shard:
    iterator: str | None
    waiting: list[dict[str, Any]] = field(default_factory=list)  # read, not yet handled
    attempts: int = 0  # retries of waiting[0]
    since: float = 0.0  # when the first of ``waiting`` was read (monotonic): the batching window's start
    moto: _MotoShard | None = None  # moto's own shard, read in process (no endpoint)


@dataclass
class _Source:
    fn: tpl.Function
    spec: tpl.StreamSource
    stream_arn: str | None = None
    shards: dict[str, _Shard] = field(default_factory=dict)


class BackgroundPump:
    """Call ``pump()`` every ``interval`` seconds on a daemon thread until stopped."""

    name = "pump"

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.RLock()  # re-entered by forget() within paused()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No pump runs within this block (``/_local/reset`` empties the tables meanwhile)."""
        with self._lock:
            yield

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.background()
            except Exception:
                log.exception("%s pump failed", self.name)

    def background(self) -> int:
        """One run of the pump in its own thread, as time passes."""
        return self.pump()

    def pump(self) -> int:
        raise NotImplementedError


class StreamPump(BackgroundPump):
    """Hand the template's DynamoDB streams to their functions (``interval`` seconds apart)."""

    name = "streams"

    def __init__(self, template: tpl.Template, endpoint: str | None, interval: float = 0.2, gate: Any = None):
        super().__init__(interval)
        # with the embedded AWS's gate (``devkit.local.gate.Gate``), a pump with nothing to retry reads
        # the streams only once something may have been written since it last did
        self.template, self.endpoint, self.gate = template, endpoint, gate
        self._seen: int | None = None
        self._clients: dict[str, Any] = {}
        self.sources = [_Source(fn, spec) for fn in template.functions().values() for spec in fn.streams]
        for source in self.sources:
            for pattern in source.spec.filters:
                check(pattern)  # an unsupported pattern fails now, not on the first record
        self.delivered: list[dict[str, Any]] = []  # (function, records, result): what tests look at
        self.clock = time.monotonic  # the batching windows' clock (a test sets its own)

    def _client(self, service: str) -> Any:
        """One client per service for the pump's life (making one takes ~40 ms of CPU)."""
        client = self._clients.get(service)
        if client is None:
            import boto3

            client = self._clients[service] = boto3.client(service, endpoint_url=self.endpoint, region_name=tpl.REGION)
        return client

    def forget(self) -> None:
        """The tables were made again (``/_local/reset``): look for their streams anew."""
        with self._lock:
            for source in self.sources:
                source.stream_arn, source.shards = None, {}
            self._seen = None

    def waiting(self) -> bool:
        """Whether records read are waiting to be handled (a batch that failed, or one gathering)."""
        with self._lock:
            return any(sh.waiting for s in self.sources for sh in s.shards.values())

    def _idle(self) -> bool:
        """Nothing written since the last pump and nothing waiting to be handled (again, or once
        its batching window has passed)."""
        if self.gate is None or self._seen is None or self.gate.changes != self._seen:
            return False
        return all(s.stream_arn and not any(sh.waiting for sh in s.shards.values()) for s in self.sources)

    def background(self) -> int:
        return self.pump(flush=False)  # a batch waits for its batching window, as Lambda's does

    def pump(self, flush: bool = True) -> int:
        """Read every stream once and hand what came to its function; returns how many records
        were handled.  ``flush=False``: a batch not full yet waits until its first record has
        waited the source's batching window (``MaximumBatchingWindowInSeconds``)."""
        from botocore.exceptions import ClientError

        with self._lock:
            if self._idle():
                return 0
            if self.gate is not None:
                self._seen = self.gate.changes  # before reading: a write from now on wakes the next pump
            streams = self._client("dynamodbstreams") if self.endpoint is not None else None
            handled = 0
            for source in self.sources:
                try:
                    if source.stream_arn is None:
                        self._discover(streams, source)
                    for shard_id, state in source.shards.items():
                        handled += self._drain(streams, source, shard_id, state, flush)
                except ClientError as err:  # the table or its stream went: look again next time
                    log.info("stream of %s: %s; looking for it again", source.spec.table, err)
                    source.stream_arn, source.shards = None, {}
                except KeyError as err:  # moto in process: a shard iterator of a table made again
                    log.info("stream of %s: shard %s is gone; looking for it again", source.spec.table, err)
                    source.stream_arn, source.shards = None, {}
            return handled

    def _moto_table(self, source: _Source) -> Any:
        """The source's table in this process's moto, or None (not made, or made again)."""
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables.get(self.template.physical_name(source.spec.table))

    def _discover(self, streams: Any, source: _Source) -> None:
        if self.endpoint is None:
            with self.gate.lock if self.gate is not None else contextlib.nullcontext():
                table = self._moto_table(source)
                if table is None or table.stream_shard is None:
                    return
                source.stream_arn = f"{table.table_arn}/stream/{table.latest_stream_label}"
                # from the start: records written before the pump looked count too
                source.shards[table.stream_shard.id] = _Shard(None, moto=_MotoShard(table.stream_shard, self.gate))
            return
        table = self._client("dynamodb").describe_table(TableName=self.template.physical_name(source.spec.table))
        source.stream_arn = table["Table"].get("LatestStreamArn")
        if source.stream_arn is None:
            return
        for shard in streams.describe_stream(StreamArn=source.stream_arn)["StreamDescription"]["Shards"]:
            # from the start: records written before the pump looked count too
            iterator = streams.get_shard_iterator(
                StreamArn=source.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            source.shards[shard["ShardId"]] = _Shard(iterator)

    def _read(self, streams: Any, source: _Source, state: _Shard) -> list[dict[str, Any]]:
        """The shard's next records its function's filters let through, as the event source hands them."""

        def wanted(record: dict[str, Any]) -> bool:
            return not source.spec.filters or any(matches(record, p) for p in source.spec.filters)

        if state.moto is not None:
            if not state.moto.current(self._moto_table(source)):
                raise KeyError(state.moto.shard.id)  # the table was made again: look for its stream anew
            return state.moto.read(source.stream_arn, wanted)  # copies of the wanted records only
        if not state.iterator:
            return []
        resp = streams.get_records(ShardIterator=state.iterator)
        state.iterator = resp.get("NextShardIterator")
        records = [_as_lambda_gives_it(r, source.stream_arn) for r in resp.get("Records", [])]
        return [r for r in records if wanted(r)]

    def _drain(self, streams: Any, source: _Source, shard_id: str, state: _Shard, flush: bool = True) -> int:
        fresh = self._read(streams, source, state)
        if fresh and not state.waiting:
            state.since = self.clock()
        state.waiting += fresh
        handled = 0
        while state.waiting:
            gathering = not (flush or state.attempts or len(state.waiting) >= source.spec.batch_size)
            if gathering and self.clock() - state.since < source.spec.batch_window:
                break  # the batch goes when full or when its first record has waited the window
            batch = state.waiting[: source.spec.batch_size]
            failed_at = self._invoke(source, batch)
            if failed_at is None:
                handled += len(batch)
                del state.waiting[: len(batch)]
                state.attempts = 0
                continue
            handled += failed_at
            del state.waiting[:failed_at]
            state.attempts += 1
            if 0 <= source.spec.max_retries < state.attempts:
                self._give_up(source, shard_id, state.waiting[: source.spec.batch_size])
                del state.waiting[: source.spec.batch_size]
                state.attempts = 0
                continue
            break  # retried on the next pump, in order
        return handled

    def _invoke(self, source: _Source, batch: list[dict[str, Any]]) -> int | None:
        """Hand ``batch`` to the function: None if all of it was handled, else the index of the
        first record to hand again."""
        try:
            result = runtime.invoke(source.fn, {"Records": batch}) or {}
        except Exception as err:
            log.error("%s failed on a batch of %d stream records: %s", source.fn.logical_id, len(batch), err)
            self.delivered.append({"function": source.fn.logical_id, "records": batch, "error": repr(err)})
            return 0
        self.delivered.append({"function": source.fn.logical_id, "records": batch, "result": result})
        failures = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        if not failures:
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if None in failures or "" in failures or not failures <= set(sequence):
            return 0  # an identifier that names no record: the whole batch fails, as Lambda has it
        return min(sequence.index(f) for f in failures)

    def _give_up(self, source: _Source, shard_id: str, batch: list[dict[str, Any]]) -> None:
        log.error(
            "%s: %d stream records failed %d times: sent to %s",
            source.fn.logical_id,
            len(batch),
            source.spec.max_retries + 1,
            source.spec.on_failure_queue or "nowhere",
        )
        if not source.spec.on_failure_queue or not batch:
            return
        sqs = self._client("sqs")
        url = sqs.get_queue_url(QueueName=self.template.physical_name(source.spec.on_failure_queue).rsplit("/", 1)[1])
        sqs.send_message(
            QueueUrl=url["QueueUrl"],
            MessageBody=json.dumps(
                {
                    "requestContext": {
                        "condition": "RetryAttemptsExhausted",
                        "functionArn": self.template.arn(source.fn.logical_id),
                        "approximateInvokeCount": source.spec.max_retries + 1,
                    },
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "DDBStreamBatchInfo": {
                        "shardId": shard_id,
                        "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                        "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                        "batchSize": len(batch),
                        "streamArn": source.stream_arn,
                    },
                }
            ),
        )
