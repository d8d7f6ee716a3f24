"""Many halls, one city: each hall's event log shipped to a central PostgreSQL.

``schema`` creates the central tables and the ingest function; ``shipper`` is the
process beside each hall's hub that ships its log; ``ingest`` is the client side of
the centre's functions; ``views`` computes the supervision view; ``server`` serves it
over the hub protocol's websocket framing; ``report`` runs the hall reports from the
central log; ``cli`` registers ``onewindow central`` and ``onewindow ship``.
"""
