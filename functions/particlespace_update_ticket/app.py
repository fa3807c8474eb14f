"""PUT /api/v1/ticket/{id} -- update a ticket, with notifications (ParticleSpace)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.particlespace.routes import update_handler as lambda_handler

__all__ = ["lambda_handler"]
