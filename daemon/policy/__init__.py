"""The policy engine: the Alliance's case policy as pure rules (see spec/policy.md).

Nothing is imported here, so that reading one part (the calendar, say) does not load the
engine: import from the modules themselves, e.g. ``daemon.policy.engine`` for ``evaluate``.

The rules: ``context`` (what every rule gets, the idempotency ``key``), ``rules`` (the rules about
one case and ``CASE_RULES``), ``ladder`` (request an update, escalate, the PM's help),
``across`` (widespread, the support call, digests); ``engine`` runs them all.
"""
