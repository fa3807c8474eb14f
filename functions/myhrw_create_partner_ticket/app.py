"""POST /tickets/{ticketUid}/tasks/{taskid}/partnertickets -- record a partner ticket (myhrw)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.myhrw import create_handler as lambda_handler

__all__ = ["lambda_handler"]
