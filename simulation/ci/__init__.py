"""Cloud Build's side of CI in the simulation: which triggers an event fires (events.py)."""
