"""The ticket store: the only package that speaks to the tickets table (DynamoDB).

Single-table layout (partition ``pk``, sort ``sk``):

==================  ====================  ==========================================
pk                  sk                    item
==================  ====================  ==========================================
``TICKET#<id>``     ``TICKET``            the ticket (attributes of ``model.Ticket``)
``TICKET#<id>``     ``AUDIT#<at>#<nonce>``  one audit entry per change (``codec.audit_key``)
``TICKET#<id>``     ``MSG#<seq>``         one conversation message (8 digits)
``TICKET#<id>``     ``OUTBOX#<item id>``  a side effect the stream carries out (``writer``)
``TICKET#<id>``     ``DELIVERY#<key>``    a claimed scheduled notification (sent once)
``COUNTER``         ``ticket``            the id allocator
``CATALOG``         ``default``           optional stored status catalog (JSON)
``REF#<kind>``      ``<key>``             reference data: users, orders, services...
==================  ====================  ==========================================

Modules, one job each:

* ``ticketing.repository``: the facade (``Repository``): reads, create, update, reference
  data, the catalog document; what the service calls.
* ``store.writer``: one change of one ticket, written in one ``TransactWriteItems``
  (field-level guards, conflicts re-applied, ambiguous errors, riders, the write budget).
* ``store.items``: the transaction items a change writes (the ticket's ``Update``, puts).
* ``store.codec``: items <-> models, keys, sizes, bounded audit entries, history cursors.
* ``store.calls``: one DynamoDB call, transient errors, backoff, the one batch-get loop.
* ``store.deliveries``: exactly-once side effects (claim, finish, read a delivery).
* ``store.readahead``: items a request will read, read beside its first read (the caller's
  credentials), taken once by the read that wanted them.
"""
