"""EventBridge Scheduler for the local run: one-time ``at(...)`` schedules that come due are fired
into their target function, then deleted when ``ActionAfterCompletion`` is DELETE."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from devkit import template as tpl
from devkit.local import runtime
from devkit.local.apigateway import LocalApi
from devkit.local.gate import Gate
from devkit.local.streams import BackgroundPump

log = logging.getLogger("local")


class SchedulerPump(BackgroundPump):
    """Fire one-time schedules that have come due into their target function.

    With the embedded AWS's ``gate``, the schedules are listed again only once a request may have
    changed them since they last were (the gate's ``changes_of("scheduler")``: not every write to
    the embedded AWS), and a schedule is read again (``GetSchedule``) only when its
    ``LastModificationDate`` moved: an idle local run asks its AWS nothing, and a busy one two or
    three cheap calls a pump."""

    name = "scheduler"

    def __init__(self, api: LocalApi, endpoint: str | None, interval: float = 0.5, gate: Gate | None = None):
        super().__init__(interval)
        self.api, self.endpoint, self.gate = api, endpoint, gate
        self.fired: list[dict[str, Any]] = []
        # a target names the function, or a qualifier of it: $LATEST or its alias (live)
        self._by_arn = {}
        for fid, fn in api.functions.items():
            arn = api.template.arn(fid)
            for qualifier in ("", ":$LATEST", f":{fn.alias}" if fn.alias else ""):
                self._by_arn[arn + qualifier] = fn
        self._read: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}  # (group, name) -> (modified, schedule)
        self._listed: tuple[int, list[tuple[str, dict[str, Any]]]] | None = None  # (gate's changes, schedules)
        self._scheduler: Any = None

    def _client(self) -> Any:
        """One client for the pump's life (making one takes ~40 ms of CPU)."""
        if self._scheduler is None:
            import boto3

            self._scheduler = boto3.client("scheduler", endpoint_url=self.endpoint, region_name=tpl.REGION)
        return self._scheduler

    def forget(self) -> None:
        with self._lock:
            self._read.clear()
            self._listed = None

    def _schedules(self, client: Any) -> list[tuple[str, dict[str, Any]]]:
        """Every schedule, with its group, as ``GetSchedule`` gave it when it was last modified."""
        changes = self.gate.changes_of("scheduler") if self.gate else None
        if self._listed is not None and changes is not None and self._listed[0] == changes:
            return self._listed[1]
        out, seen = [], set()
        for group in [g["Name"] for g in client.list_schedule_groups().get("ScheduleGroups", [])]:
            for page in client.get_paginator("list_schedules").paginate(GroupName=group):
                for summary in page.get("Schedules", []):
                    key = (group, summary["Name"])
                    seen.add(key)
                    modified = summary.get("LastModificationDate")
                    cached = self._read.get(key)
                    if cached is None or modified is None or cached[0] != modified:
                        schedule = _get_schedule(client, group, summary["Name"])
                        if schedule is None:
                            continue
                        cached = self._read[key] = (modified, schedule)
                    out.append((group, cached[1]))
        for key in [k for k in self._read if k not in seen]:
            del self._read[key]
        if changes is not None:
            self._listed = (changes, out)
        return out

    def pump(self, now: datetime | None = None) -> int:
        """Fire every due schedule once; returns how many fired."""
        with self._lock:
            client = self._client()
            now = now or datetime.now(UTC)
            fired = 0
            for group, schedule in self._schedules(client):
                due = _due_at(schedule)
                if schedule.get("State") != "ENABLED" or due is None or due > now:
                    continue
                current = _get_schedule(client, group, schedule["Name"])  # as it is now, not as listed
                if current is None or current.get("State") != "ENABLED":
                    continue
                due = _due_at(current)
                if due is None or due > now:
                    continue
                self._fire(client, group, current)
                fired += 1
            if fired:
                self._listed = None
            return fired

    def fire_now(self, group: str, name: str) -> dict[str, Any] | None:
        """Fire one schedule now, due or not (the console's "fire now"); its record, or None if
        there is no such schedule."""
        with self._lock:
            client = self._client()
            schedule = _get_schedule(client, group, name)
            if schedule is None:
                return None
            self._fire(client, group, schedule)
            self._listed = None
            return self.fired[-1]

    def pending(self) -> list[dict[str, Any]]:
        """Every schedule waiting to fire: name, group, due time, target and input."""
        with self._lock:
            schedules = self._schedules(self._client())
        out = []
        for group, schedule in schedules:
            target = schedule["Target"]
            out.append(
                {
                    "name": schedule["Name"],
                    "group": group,
                    "expression": schedule.get("ScheduleExpression"),
                    "due": _due_at(schedule),
                    "state": schedule.get("State"),
                    "target": target["Arn"],
                    "input": json.loads(target.get("Input") or "null"),
                }
            )
        return sorted(out, key=lambda s: (str(s["due"]), s["name"]))

    def _fire(self, client: Any, group: str, schedule: dict[str, Any]) -> None:
        target = schedule["Target"]
        fn = self._by_arn.get(target["Arn"])
        event = json.loads(target.get("Input") or "{}")
        record = {"schedule": schedule["Name"], "group": group, "target": target["Arn"], "at": time.time()}
        try:
            if fn is None:
                raise LookupError(f"no function of template.yaml has ARN {target['Arn']}")
            record["result"] = runtime.invoke(fn, event)
        except Exception as err:
            log.error("schedule %s failed: %s", schedule["Name"], err)
            record["error"] = repr(err)
            dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
            if dlq:
                import boto3

                sqs = boto3.client("sqs", endpoint_url=self.endpoint, region_name=tpl.REGION)
                url = sqs.get_queue_url(QueueName=dlq.rsplit(":", 1)[1])["QueueUrl"]
                sqs.send_message(
                    QueueUrl=url,
                    MessageBody=json.dumps({"schedule": schedule["Name"], "input": event, "error": repr(err)}),
                )
        self.fired.append(record)
        current = _get_schedule(client, group, schedule["Name"])
        if current is None or current.get("LastModificationDate") != schedule.get("LastModificationDate"):
            return  # cancelled, or armed again while it fired: the new one stays
        if schedule.get("ActionAfterCompletion") == "DELETE" or "error" in record:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                client.delete_schedule(GroupName=group, Name=schedule["Name"])
        else:
            client.update_schedule(
                GroupName=group,
                Name=schedule["Name"],
                State="DISABLED",
                ScheduleExpression=schedule["ScheduleExpression"],
                FlexibleTimeWindow=schedule["FlexibleTimeWindow"],
                Target=target,
            )


def _get_schedule(client: Any, group: str, name: str) -> dict[str, Any] | None:
    """The schedule, or None if it went (fired, cancelled or replaced) since it was listed."""
    try:
        return client.get_schedule(GroupName=group, Name=name)
    except client.exceptions.ResourceNotFoundException:
        return None


def _due_at(schedule: dict[str, Any]) -> datetime | None:
    expr = schedule.get("ScheduleExpression", "")
    if not (expr.startswith("at(") and expr.endswith(")")):
        return None  # rate()/cron() schedules are not emulated
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(expr[3:-1])
    tz = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    return when.replace(tzinfo=tz).astimezone(UTC)
