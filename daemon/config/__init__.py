"""Configuration: a TOML file read with ``tomllib`` into frozen dataclasses.

Every key has a default except the few the contract names; unknown keys are
errors; every problem is collected and reported at once (``ConfigError``), each
with its key and a hint. Secrets never live in the file: a setting ending in
``_env`` names an environment variable, one ending in ``_command`` a command
whose first output line is the secret.

- ``schema``    the tables as frozen dataclasses with their defaults, and ``Config``;
- ``actions``   the ``[actions]`` tables, one per action kind, with their thresholds;
- ``loading``   reading the file: TOML converted into the dataclasses, paths relative to it;
- ``validate``  every check of the values, each problem with its key and a hint;
- ``secrets``   passwords and OAuth 2 tokens from the environment or a command.

The names callers use are re-exported here (``from daemon.config import Config, load``).
The defaults are documented, line by line, in ``config.example.toml``.
"""

from daemon.config.actions import (
    CHECKLIST,
    PRIORITY_NAMES,
    Actions,
    AgendaRule,
    CoordinatorContact,
    CustomerTurn,
    DescriptionGaps,
    DigestRule,
    Escalate,
    HandoverRule,
    Ladder,
    OwnerInactive,
    OwnerUnreachable,
    PmAssist,
    PmEscalation,
    PmStalledHigh,
    PmSystemDown,
    PostCallFollowup,
    RecordUpdate,
    RequestUpdate,
    ShareOnList,
    Survey,
    Widespread,
)
from daemon.config.loading import DEFAULT_PATH, ENV_VAR, PATH_KEYS, load, parse, relative_to
from daemon.config.schema import (
    Areas,
    Calendar,
    Config,
    Consortium,
    Daemon,
    Institution,
    Labels,
    Lists,
    Mailbox,
    Outbound,
    PriorityNames,
    ProgramManager,
    Recognize,
    Replies,
    Sending,
    Smtp,
    State,
    SupportCall,
    Vendor,
)
from daemon.config.secrets import no_password, oauth2_token, secret
from daemon.config.validate import file_in_the_way

__all__ = [
    "CHECKLIST",
    "DEFAULT_PATH",
    "ENV_VAR",
    "PATH_KEYS",
    "PRIORITY_NAMES",
    "Actions",
    "AgendaRule",
    "Areas",
    "Calendar",
    "Config",
    "Consortium",
    "CoordinatorContact",
    "CustomerTurn",
    "Daemon",
    "DescriptionGaps",
    "DigestRule",
    "Escalate",
    "HandoverRule",
    "Institution",
    "Labels",
    "Ladder",
    "Lists",
    "Mailbox",
    "Outbound",
    "OwnerInactive",
    "OwnerUnreachable",
    "PmAssist",
    "PmEscalation",
    "PmStalledHigh",
    "PmSystemDown",
    "PostCallFollowup",
    "PriorityNames",
    "ProgramManager",
    "Recognize",
    "RecordUpdate",
    "Replies",
    "RequestUpdate",
    "Sending",
    "ShareOnList",
    "Smtp",
    "State",
    "SupportCall",
    "Survey",
    "Vendor",
    "Widespread",
    "file_in_the_way",
    "load",
    "no_password",
    "oauth2_token",
    "parse",
    "relative_to",
    "secret",
]
