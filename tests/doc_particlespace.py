"""ParticleSpace's update-a-ticket document, for every test tier: its example, verbatim.

From /work/shared/seeds/002_dc623fb31d17e194.txt (``PUT /api/v1/ticket/{id}``): the example's
``qs.stringify`` body, field for field.  Besides: what the tiers share around it (the demo
credential and ticket, the form content type, and the two purposes of ParticleSpace's schedules)."""

from __future__ import annotations

AUTH = {"Authorization": "Bearer tkt_demo_particlespace"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KEY = "tic_0c48sol"  # demo ticket 1002, "Leaking faucet"
# the document's qs.stringify example, field for field
EXAMPLE = {
    "title": "Leaking faucet",
    "description": "Leak under the kitchen sink in 1A requires new part.",
    "status": "ON_HOLD",
    "notify": 1,
    "time": "",
    "type": "email",
    "contacts": "example@example.com",
    "automated": 1,
}
QUIET = {**EXAMPLE, "notify": 0, "automated": 0}
NOTIFY, REMINDER = "particlespace-notify", "particlespace-reminder"  # the two purposes
