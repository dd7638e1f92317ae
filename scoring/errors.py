class ScoringError(Exception):
    """A request the rules refuse; the message says why."""
