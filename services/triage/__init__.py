"""triage: the analysts' queue of submitted requests and their decisions."""
