"""The console's screens: one module per view or dialog; base.py holds what they share."""
