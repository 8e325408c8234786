"""The policy engine: the Alliance's case policy as pure rules (see spec/policy.md)."""

from daemon.policy.engine import CaseFile, Snapshot, candidates, contexts, decide, evaluate

__all__ = ["CaseFile", "Snapshot", "candidates", "contexts", "decide", "evaluate"]
