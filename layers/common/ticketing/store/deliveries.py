"""Exactly-once side effects of a ticket (scheduled notifications): claimed once, then finished."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ticketing.store import items
from ticketing.store.calls import Table, cancellation_reasons, error_code
from ticketing.store.codec import delivery_key, pk, serialize, ticket_key, unmarshal


class Deliveries(Table):
    def claim_delivery(self, ticket_id: int, key: str, doc: dict[str, Any], *, version: int) -> str:
        """Claim the side effect ``key`` of a ticket, once, while the ticket is still at ``version``.

        One ``TransactWriteItems``: a ``ConditionCheck`` that the ticket is still at the version
        the caller read (and checked), and a ``Put`` of ``DELIVERY#<key>`` that must not exist.
        Returns ``"claimed"`` (go ahead), ``"taken"`` (claimed before: never do it again) or
        ``"moved"`` (the ticket changed since it was read: read it and check again).
        """
        transaction = [
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": ticket_key(ticket_id),
                    "ConditionExpression": "#v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                }
            },
            items.put(self.table, pk(ticket_id), f"DELIVERY#{key}", doc),
        ]
        try:
            self._call("transact_write_items", TransactItems=transaction)
            return "claimed"
        except ClientError as err:
            if error_code(err) != "TransactionCanceledException":
                raise
            codes = [r.get("Code") for r in cancellation_reasons(err)]
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                return "taken"
            return "moved"  # the version moved on, or a racing transaction: read again

    def finish_delivery(self, ticket_id: int, key: str, fields: dict[str, Any]) -> None:
        """Record how a claimed side effect ended (``state``, counts...) on its claim."""
        self._call("update_item", **self.delivery_update(ticket_id, key, fields))

    def delivery_update(self, ticket_id: int, key: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The ``Update`` of claim ``key``'s ``fields`` (for ``update_item``, or a transaction item)."""
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": serialize(v) for i, v in enumerate(fields.values())}
        return {
            "TableName": self.table,
            "Key": delivery_key(ticket_id, key),
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def take_over_delivery(self, ticket_id: int, key: str, fields: dict[str, Any], *, now: str) -> bool:
        """Take an unfinished claim over (its run gave up for a retry, ``state = deferred``, or its
        lease ran out: the run died), setting ``fields``; False if another run holds it or it ended."""
        update = self.delivery_update(ticket_id, key, fields)
        update["ConditionExpression"] = "#st = :deferred OR (#st = :claimed AND #lease < :now)"
        update["ExpressionAttributeNames"].update({"#st": "state", "#lease": "lease_until"})
        update["ExpressionAttributeValues"].update(
            {":deferred": {"S": "deferred"}, ":claimed": {"S": "claimed"}, ":now": {"S": now}}
        )
        try:
            self._call("update_item", **update)
            return True
        except ClientError as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return False
            raise

    def get_delivery(self, ticket_id: int, key: str) -> dict[str, Any] | None:
        resp = self._call("get_item", TableName=self.table, Key=delivery_key(ticket_id, key), ConsistentRead=True)
        item = resp.get("Item")
        return unmarshal(item) if item else None
