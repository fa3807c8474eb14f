"""PUT /tickets/{ticketUid}/tasks/{taskid}/partnertickets/{PartnerTechnicalId} -- update a partner ticket (myhrw)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.myhrw import update_handler as lambda_handler

__all__ = ["lambda_handler"]
