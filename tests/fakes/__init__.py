"""Fakes of the edges nobody here can reach (an SMS provider), speaking their real protocol."""
