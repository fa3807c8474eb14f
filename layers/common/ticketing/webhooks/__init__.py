"""Webhook subscriptions: a client's changes delivered to its URL, signed, retried, in order.

* ``store``: subscriptions and delivery attempts (``WebhooksTable``: the only module that speaks to it).
* ``signing``: Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).
* ``urls``: which URLs a subscription may name (https in production; loopback only in the local run).
* ``views``: the ticket view a payload carries (canonical, or a dialect's registered view).
* ``fanout``: a committed change -> one FIFO message per subscription that may see it (called by
  the tickets table's stream consumer, ``ticketing.eventbus``).
* ``delivery``: ``WebhookDeliveryFunction``: the FIFO queue -> the subscriber's URL, with
  exponential backoff and jitter for 24 hours (SQS visibility), then the dead-letter queue.
"""
