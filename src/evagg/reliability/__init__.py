"""V2G capacity reliability of an EV fleet (seed 003 §2–3, §5)."""
