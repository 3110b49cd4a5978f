"""treatment: the bodies' work on validated requests (assignment, hold, answers, deadlines)."""
