"""Notify: emails (and later SMS) to citizens, with a delivery log and their outcome."""
