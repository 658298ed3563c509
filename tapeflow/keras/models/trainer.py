"""Training API mixed into `Model`: compile, fit, evaluate, predict (filled in by trainer work)."""

from __future__ import annotations


class Trainer:
    """compile / fit / evaluate / predict / train_step / test_step for `Model`."""
