"""The policy engine: the Alliance's case policy as pure rules (see spec/policy.md).

Nothing is imported here, so that reading one part (the calendar, say) does not load the
engine: import from the modules themselves, e.g. ``daemon.policy.engine`` for ``evaluate``.
"""
