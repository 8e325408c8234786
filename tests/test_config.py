"""The configuration file: the documented example, the defaults, and how mistakes are reported."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from daemon import config
from daemon.config import Config, load, parse
from daemon.errors import ConfigError, Problem, UsageError
from daemon.timeparts import Duration, duration, parse_clock

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

# The sections whose keys the example shows commented out, set to their defaults.
COMMENTED_SECTIONS = (
    "daemon",
    "replies",
    "smtp",
    "sending",
    "mailbox",
    "vendor",
    "recognize",
    "labels",
    "priorities",
    "lists",
    "areas",
    "calendar",
    "support_call",
    "actions",
)

CONTRACT_KEYS = """\
[consortium]
name = "Orbis Cascade Alliance"
timezone = "America/Los_Angeles"

[state]
db = "state/casewatch.db"

[[institutions]]
code = "WWU"
name = "Western Washington University"
domains = ["wwu.edu"]

[[program_managers]]
name = "Maria Lopez"
email = "mlopez@orbiscascade.org"
areas = ["fulfillment"]

[outbound]
from_address = "casewatch@orbiscascade.org"   # also the mailbox that receives replies
transport = "smtp"                            # or "file": write each message as .eml
folder = "state/outbox"                       # where the file transport writes
"""


# --------------------------------------------------------------------------- helpers

_KEY = r'(?:[A-Za-z0-9_-]+|"[^"]*")'
_HEADER = re.compile(r"^\[\[?([A-Za-z0-9_.]+)\]\]?$")
_ASSIGNMENT = re.compile(rf"^({_KEY})\s*=\s*(\S.*)$")
_STRING = re.compile(r"'''.*?'''|'[^']*'|\"(?:[^\"\\]|\\.)*\"")


def classify(text: str) -> list[tuple[str, str, str]]:
    """Each line of an example config as ``(kind, line as TOML, section)``.

    A commented-out setting is written ``# key = value`` (one space after ``#``), a
    commented-out table header ``# [table]``, and a multi-line array opened by ``= [``
    continues with ``#     item,`` lines up to ``# ]``. Any other comment is prose.
    ``kind`` is one of ``header``, ``setting``, ``continuation``, ``prose``, ``blank``;
    for a header, setting or continuation the line is given uncommented.
    """
    rows: list[tuple[str, str, str]] = []
    section = ""
    in_array = False
    for line in text.splitlines():
        commented = line.startswith("#")
        body = line.removeprefix("# ") if commented else line
        assignment = _ASSIGNMENT.match(body)
        header = _HEADER.match(body)
        if in_array:
            rows.append(("continuation", body, section))
            in_array = body.strip() != "]"
        elif not line.strip():
            rows.append(("blank", line, section))
        elif (commented and not line.startswith("# ")) or not (header or assignment):
            rows.append(("prose", line, section))
        elif header:
            section = header.group(1)
            rows.append(("header", body, section))
        else:
            assert assignment is not None
            rows.append(("setting", body, section))
            in_array = assignment.group(2).rstrip() == "["
    return rows


def uncomment_defaults(text: str) -> str:
    """The example with every commented-out setting (and table header) uncommented."""
    rows = classify(text)
    lines = [
        original if kind in ("prose", "blank") else toml
        for (kind, toml, _), original in zip(rows, text.splitlines(), strict=True)
    ]
    return "\n".join(lines) + "\n"


def is_table(tp: Any) -> bool:
    """A dataclass written as a TOML table (a ``Duration`` is one too, but written as text)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp is not Duration


def undocumented_keys(cls: type[Any], table: dict[str, Any], prefix: str = "") -> list[str]:
    """Every field of ``cls`` (and of the dataclasses inside it) that ``table`` lacks."""
    missing: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if cls is Config and f.name == "path":
            continue  # set by load(), not a key of the file
        key = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in table:
            missing.append(key)
            continue
        tp: Any = hints[f.name]
        value = table[f.name]
        if is_table(tp):
            missing += undocumented_keys(tp, value, key)
        elif typing.get_origin(tp) is tuple and is_table(typing.get_args(tp)[0]):
            assert value, f"{key}: the example shows no item"
            for i, item in enumerate(value):
                missing += undocumented_keys(typing.get_args(tp)[0], item, f"{key}[{i}]")
    return missing


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as excinfo:
        load(str(write(tmp_path, text)))
    return excinfo.value.problems


def keys_of(problems: tuple[Problem, ...]) -> list[str]:
    return [p.key for p in problems]


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.ENV_VAR, raising=False)


# --------------------------------------------------------------------------- the example


def test_example_config_parses_with_the_alliance_values() -> None:
    cfg = load(str(EXAMPLE))

    assert cfg.consortium == config.Consortium("Orbis Cascade Alliance", "America/Los_Angeles")
    assert cfg.state.db == str(EXAMPLE.parent / "state" / "casewatch.db")
    assert cfg.outbound == config.Outbound(
        from_address="casewatch@orbiscascade.org",
        transport="file",
        folder=str(EXAMPLE.parent / "state" / "outbox"),
    )
    assert [(i.code, i.domains) for i in cfg.institutions] == [
        ("WWU", ("wwu.edu",)),
        ("UW", ("uw.edu",)),
        ("WSU", ("wsu.edu",)),
        ("OSU", ("oregonstate.edu",)),
        ("UO", ("uoregon.edu",)),
        ("REED", ("reed.edu",)),
        ("WHIT", ("whitman.edu",)),
        ("LC", ("lclark.edu",)),
        ("PDX", ("pdx.edu",)),
        ("SPU", ("spu.edu",)),
    ]
    assert {a for pm in cfg.program_managers for a in pm.areas} == {
        "fulfillment",
        "technical services",
        "discovery",
        "systems",
    }
    assert cfg.path == str(EXAMPLE)


def test_example_commented_sections_parse_as_the_defaults() -> None:
    cfg = load(str(EXAMPLE))
    defaults = Config()

    for section in COMMENTED_SECTIONS:
        assert getattr(cfg, section) == getattr(defaults, section), section


def test_uncomment_helper_uncomments_settings_and_keeps_prose() -> None:
    text = (
        "[a]\n"
        "# What x is. Default: 1.\n"
        "# x = 1\n"
        "#     indented = 'prose example'\n"
        "# ys = [\n"
        "#     'p',\n"
        "# ]\n"
        "# [a.b]\n"
        '# "k v" = "w"\n'
    )

    assert uncomment_defaults(text) == (
        "[a]\n"
        "# What x is. Default: 1.\n"
        "x = 1\n"
        "#     indented = 'prose example'\n"
        "ys = [\n"
        "    'p',\n"
        "]\n"
        "[a.b]\n"
        '"k v" = "w"\n'
    )


def test_example_uncommented_defaults_are_the_real_defaults(tmp_path: Path) -> None:
    """Uncommenting every `# key = value` line changes nothing: the comments are the defaults."""
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = uncomment_defaults(text)
    assert uncommented != text

    cfg = load(str(write(tmp_path, uncommented)))
    defaults = Config()

    for section in COMMENTED_SECTIONS:
        assert getattr(cfg, section) == getattr(defaults, section), section
    as_commented = load(str(write(tmp_path, text, "as-commented.toml")))
    assert dataclasses.replace(cfg, path=None) == dataclasses.replace(as_commented, path=None)


def test_example_documents_every_key_of_every_section() -> None:
    """A key added to a dataclass in daemon/config/ must be added to the example too."""
    table = tomllib.loads(uncomment_defaults(EXAMPLE.read_text(encoding="utf-8")))

    assert undocumented_keys(Config, table) == []


def test_example_has_a_comment_line_above_every_key_of_a_section() -> None:
    """In each [section] every key, set or commented out, has its own comment just above."""
    rows = classify(EXAMPLE.read_text(encoding="utf-8"))
    hints = typing.get_type_hints(Config)
    sections = {f.name for f in dataclasses.fields(Config) if dataclasses.is_dataclass(hints[f.name])}

    without_comment = [
        f"{section}.{toml.split('=')[0].strip()}"
        for (kind, toml, section), (kind_above, _, _) in zip(rows[1:], rows, strict=False)
        if kind == "setting"
        and section.split(".")[0] in sections
        and kind_above != "prose"
        and section != "areas.by_category"  # its keys are the mapping's entries
    ]

    assert sections == {"consortium", "state", "outbound", *COMMENTED_SECTIONS}
    assert without_comment == []


def test_example_regexes_are_single_quoted_literal_strings() -> None:
    rows = classify(EXAMPLE.read_text(encoding="utf-8"))
    strings = [
        string
        for kind, toml, section in rows
        if section in ("recognize", "actions.description_gaps")
        and kind in ("setting", "continuation")
        and not toml.startswith(("required", "enabled", "window"))
        for string in _STRING.findall(toml.split("=", 1)[-1])
    ]

    assert len(strings) > 20
    assert [s for s in strings if not s.startswith("'")] == []


# --------------------------------------------------------------------------- valid files


def test_file_with_only_the_contract_keys_is_valid(tmp_path: Path) -> None:
    cfg = load(str(write(tmp_path, CONTRACT_KEYS)))

    assert cfg.consortium.timezone == "America/Los_Angeles"
    assert cfg.state.db == str(tmp_path / "state" / "casewatch.db")
    assert cfg.institutions == (config.Institution("WWU", "Western Washington University", ("wwu.edu",)),)
    assert cfg.program_managers == (
        config.ProgramManager("Maria Lopez", "mlopez@orbiscascade.org", ("fulfillment",)),
    )
    assert cfg.outbound.transport == "smtp"
    assert cfg.mailbox == config.Mailbox()
    assert cfg.areas == config.Areas()


def test_contract_keys_without_outbound_are_valid_and_default_to_the_file_transport(
    tmp_path: Path,
) -> None:
    text = CONTRACT_KEYS.split("[outbound]", maxsplit=1)[0]

    cfg = load(str(write(tmp_path, text)))

    assert cfg.outbound == config.Outbound(
        from_address="casewatch@orbiscascade.org", transport="file", folder=str(tmp_path / "state" / "outbox")
    )


def test_empty_file_is_valid_and_gives_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")

    cfg = load(str(path))

    assert cfg == Config(
        path=str(path),
        state=config.State(db=str(tmp_path / "state" / "casewatch.db")),
        outbound=config.Outbound(folder=str(tmp_path / "state" / "outbox")),
    )


def test_no_config_toml_in_the_working_directory_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert load() == Config()


def test_config_toml_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[state]\ndb = "elsewhere.db"\n')
    monkeypatch.chdir(tmp_path)

    assert load().state.db == "elsewhere.db"


def test_config_from_the_environment_variable_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[state]\ndb = "from-env.db"\n', "env.toml")
    monkeypatch.setenv(config.ENV_VAR, str(path))
    monkeypatch.chdir(tmp_path)

    assert load().state.db == str(tmp_path / "from-env.db")


def test_explicit_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(UsageError, match=r"nope\.toml"):
        load(str(missing))


def test_missing_path_from_the_environment_variable_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.ENV_VAR, str(tmp_path / "gone.toml"))

    with pytest.raises(UsageError, match=r"gone\.toml"):
        load()


def test_invalid_toml_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[consortium\nname = 1\n")

    assert keys_of(problems) == ["(file)"]
    assert "not valid TOML" in problems[0].message


# --------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("text", "key", "hint_mentions"),
    [
        ("colour = 1\n", "colour", "consortium"),
        ("[mail_box]\nhost = 'x'\n", "mail_box", "mailbox"),
        ('[consortium]\nnme = "Alliance"\n', "consortium.nme", "name"),
        ("[mailbox]\nhostname = 'imap.example.org'\n", "mailbox.hostname", "host"),
        ('[[institutions]]\ncode = "WWU"\ncolour = "blue"\n', "institutions[0].colour", "code"),
        (
            '[[institutions]]\ncode = "WWU"\n[[institutions]]\ncode = "UW"\ndomain = ["uw.edu"]\n',
            "institutions[1].domain",
            "domains",
        ),
        (
            '[[program_managers]]\nname = "M"\nemail = "m@x.org"\narea = ["x"]\n',
            "program_managers[0].area",
            "areas",
        ),
    ],
)
def test_unknown_key_is_an_error_naming_the_full_key_with_a_hint(
    tmp_path: Path, text: str, key: str, hint_mentions: str
) -> None:
    problems = problems_of(tmp_path, text)

    assert keys_of(problems) == [key]
    assert problems[0].message == "unknown key"
    assert hint_mentions in problems[0].hint


def test_path_is_not_a_key_of_the_file(tmp_path: Path) -> None:
    assert keys_of(problems_of(tmp_path, 'path = "x.toml"\n')) == ["path"]


# --------------------------------------------------------------------------- all at once


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
[consortium]
nme = "Orbis Cascade Alliance"
timezone = "Mars/Olympus_Mons"

[[institutions]]
name = "Western Washington University"

[outbound]
transport = "pigeon"
"""
    with pytest.raises(ConfigError) as excinfo:
        load(str(write(tmp_path, text)))

    problems = excinfo.value.problems
    assert sorted(keys_of(problems)) == [
        "consortium.nme",
        "consortium.timezone",
        "institutions[0].code",
        "outbound.transport",
    ]
    message = str(excinfo.value)
    assert "4 problem(s)" in message
    for key in keys_of(problems):
        assert key in message


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # wrong types
        ('[vendor]\nsender_domains = "exlibrisgroup.com"\n', "vendor.sender_domains", "list"),
        ('[[institutions]]\ncode = "W"\ndomains = "wwu.edu"\n', "institutions[0].domains", "list"),
        ('[mailbox]\nfolders = ["INBOX", 3]\n', "mailbox.folders[1]", "must be a string"),
        ("[mailbox]\nbatch_size = true\n", "mailbox.batch_size", "must be an integer"),
        ("[mailbox]\nverify_tls = 1\n", "mailbox.verify_tls", "must be true or false"),
        ('[mailbox]\ntimeout = "60"\n', "mailbox.timeout", "must be a number"),
        ('consortium = "Orbis"\n', "consortium", "must be a table"),
        ('[areas.by_category]\n"primo" = 1\n', "areas.by_category", "table of strings"),
        # bad values
        ('[consortium]\ntimezone = "Mars/Olympus_Mons"\n', "consortium.timezone", "time zone"),
        ('[consortium]\ntimezone = "America"\n', "consortium.timezone", "time zone"),
        ('[consortium]\ntimezone = "PST -8"\n', "consortium.timezone", "time zone"),
        ('[outbound]\ntransport = "pigeon"\n', "outbound.transport", "unknown transport"),
        ('[outbound]\nfrom_address = "casewatch"\n', "outbound.from_address", "e-mail"),
        ('[mailbox]\nsecurity = "ssl"\n', "mailbox.security", "unknown value"),
        ("[mailbox]\ntimeout = 0\n", "mailbox.timeout", "more than 0"),
        ("[mailbox]\ntimeout = nan\n", "mailbox.timeout", "more than 0"),
        ("[mailbox]\nbatch_size = 0\n", "mailbox.batch_size", "between 1 and 1000"),
        ("[mailbox]\nfetch_retries = -1\n", "mailbox.fetch_retries", "negative"),
        ("[mailbox]\nport = 70000\n", "mailbox.port", "TCP port"),
        ("[lists]\nmax_citations = 0\n", "lists.max_citations", "at least 1"),
        ('[lists]\nmax_citations = "25"\n', "lists.max_citations", "an integer"),
        ('[mailbox]\nhost = "imap.example.org"\n', "mailbox.username", "required"),
        (
            "[recognize]\nclosed_subjects = ['\\bclosed\\b', '(unclosed']\n",
            "recognize.closed_subjects[1]",
            "regular expression",
        ),
        ('[[institutions]]\nname = "No Code College"\n', "institutions[0].code", "is required"),
        (
            '[[institutions]]\ncode = "WWU"\n[[institutions]]\ncode = "WWU"\n',
            "institutions[1].code",
            "duplicate",
        ),
        ('[[program_managers]]\nname = "Maria Lopez"\n', "program_managers[0].email", "required"),
        # durations and times of day, read at load
        ('[actions.survey]\nafter = "soon"\n', "actions.survey.after", "not a duration"),
        ("[actions.survey]\nafter = 5\n", "actions.survey.after", "must be a string, not 5"),
        ('[actions.escalate]\nhigh = "-1 days"\n', "actions.escalate.high", "cannot be negative"),
        (
            '[actions.customer_turn]\nafter = ["5 days", "later"]\n',
            "actions.customer_turn.after[1]",
            "not a duration",
        ),
        ('[actions.customer_turn]\nafter = "5 days"\n', "actions.customer_turn.after", "list of strings"),
        ('[calendar]\nday_starts = "8am"\n', "calendar.day_starts", "not a time of day"),
        ('[calendar]\nday_starts = "25:00"\nday_ends = "07:00"\n', "calendar.day_starts", "not a time"),
        ('[calendar]\nday_starts = "09:00"\nday_ends = "08:30"\n', "calendar.day_ends", "later than"),
        ('[support_call]\ntime = "10.00"\n', "support_call.time", "not a time of day"),
        ('[actions.digest]\ntime = "24:00"\n', "actions.digest.time", "not a time of day"),
        (
            '[[program_managers]]\nname = "M"\nemail = "nobody"\n',
            "program_managers[0].email",
            "e-mail",
        ),
    ],
)
def test_bad_value_is_one_problem_naming_its_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    problems = problems_of(tmp_path, text)

    assert keys_of(problems) == [key]
    assert message in problems[0].message


def test_bad_regex_problem_hints_at_single_quotes(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[recognize]\nnewsletter_subjects = ['[']\n")

    assert keys_of(problems) == ["recognize.newsletter_subjects[0]"]
    assert "single quotes" in problems[0].hint


def test_area_mapping_keys_are_lower_cased_and_replace_the_default(tmp_path: Path) -> None:
    cfg = load(str(write(tmp_path, '[areas.by_category]\n"Primo VE" = "discovery"\n')))

    assert dict(cfg.areas.by_category) == {"primo ve": "discovery"}


def test_integer_is_accepted_for_a_number(tmp_path: Path) -> None:
    cfg = load(str(write(tmp_path, "[mailbox]\ntimeout = 30\n")))

    assert cfg.mailbox.timeout == 30.0
    assert isinstance(cfg.mailbox.timeout, float)


# --------------------------------------------------------------------------- the CLI


def test_cli_check_config_reports_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon import cli

    bad = write(
        tmp_path,
        '[consortium]\nnme = "x"\ntimezone = "Nowhere/Town"\n'
        '[outbound]\ntransport = "pigeon"\n[mailbox]\nbatch_size = true\n',
    )

    code = cli.main(["--config", str(bad), "check-config"])

    out, err = capsys.readouterr()
    assert code == 2
    keys = ["consortium.nme", "consortium.timezone", "outbound.transport", "mailbox.batch_size"]
    assert [key for key in keys if key not in err] == []
    assert "Traceback" not in out + err


def test_cli_check_config_on_a_good_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon import cli

    code = cli.main(["--config", str(EXAMPLE), "check-config"])

    out, err = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in out + err


def test_cli_check_config_on_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon import cli

    code = cli.main(["--config", str(tmp_path / "nope.toml"), "check-config"])

    out, err = capsys.readouterr()
    assert code == 2
    assert "nope.toml" in err
    assert "Traceback" not in out + err


# --------------------------------------------------------------------------- secrets


def test_secret_from_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWATCH_TEST_PASSWORD", "s3cret")

    assert config.secret("CASEWATCH_TEST_PASSWORD", "", "mailbox.password_env") == "s3cret"


def test_secret_from_an_unset_environment_variable_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CASEWATCH_TEST_PASSWORD", raising=False)

    assert config.secret("CASEWATCH_TEST_PASSWORD", "", "mailbox.password_env") is None


def test_secret_with_neither_env_nor_command_is_none() -> None:
    assert config.secret("", "", "mailbox.password_env") is None


def test_secret_from_a_command() -> None:
    assert config.secret("", "echo pw", "mailbox.password_command") == "pw"


def test_secret_from_a_command_is_its_first_output_line() -> None:
    assert config.secret("", r"printf 'pw\nsecond line\n'", "mailbox.password_command") == "pw"


def test_secret_command_wins_over_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASEWATCH_TEST_PASSWORD", "from-env")

    secret = config.secret("CASEWATCH_TEST_PASSWORD", "echo from-cmd", "mailbox.password_command")

    assert secret == "from-cmd"


@pytest.mark.parametrize(
    "command",
    [
        "false",
        "sh -c 'exit 3'",
        "/nonexistent/casewatch-password-helper",
        "echo 'unbalanced",
        "   ",
    ],
)
def test_failing_secret_command_is_a_config_error_naming_the_key(command: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        config.secret("", command, "mailbox.password_command")

    assert keys_of(excinfo.value.problems) == ["mailbox.password_command"]
    assert "password command failed" in excinfo.value.problems[0].message


def test_a_config_in_a_folder_this_user_may_not_enter_is_a_usage_error(tmp_path, monkeypatch) -> None:
    """As root, casewatch runs as nobody (root enters any folder), from a copy nobody can read."""
    import subprocess

    from unprivileged import casewatch

    command, env = casewatch()
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "config.toml").write_text("[state]\n")
    locked.chmod(0o000)
    try:
        done = subprocess.run(
            [*command, "--config", str(locked / "config.toml"), "check-config"],
            capture_output=True,
            timeout=60,
            check=False,
            cwd="/",
            env=env,
        )
    finally:
        locked.chmod(0o755)
    assert done.returncode == 2
    assert b"cannot read config file" in done.stderr
    assert b"Traceback" not in done.stderr


# --------------------------------------------------------------------------- stale actions, digest slots


def test_stale_after_and_digest_skip_after_have_their_documented_defaults(tmp_path: Path) -> None:
    cfg = load(str(write(tmp_path, "")))

    assert cfg.sending.stale_after == duration("7 days")
    assert cfg.actions.digest.skip_after == duration("1 day")


def test_stale_after_and_digest_skip_after_are_read_from_the_file(tmp_path: Path) -> None:
    text = '[sending]\nstale_after = "3 business days"\n[actions.digest]\nskip_after = "6 hours"\n'

    cfg = load(str(write(tmp_path, text)))

    assert cfg.sending.stale_after == Duration(3, "business days")
    assert cfg.actions.digest.skip_after == Duration(6, "hours")


def test_stale_after_and_digest_skip_after_must_be_durations(tmp_path: Path) -> None:
    text = '[sending]\nstale_after = "a week or so"\n[actions.digest]\nskip_after = "soon"\n'

    problems = problems_of(tmp_path, text)

    assert keys_of(problems) == ["sending.stale_after", "actions.digest.skip_after"]
    assert all("not a duration" in p.message for p in problems)


# --------------------------------------------------------------------------- paths relative to the file


def test_relative_paths_are_relative_to_the_folder_of_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    (etc / "site-templates").mkdir(parents=True)
    path = write(
        etc,
        '[state]\ndb = "state/cw.db"\n[outbound]\nfolder = "out"\n'
        '[sending]\ntemplates = "site-templates"\n[daemon]\nmetrics_file = "../metrics/casewatch.prom"\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    cfg = load(str(path))

    assert cfg.state.db == str(etc / "state" / "cw.db")
    assert cfg.outbound.folder == str(etc / "out")
    assert cfg.sending.templates == str(etc / "site-templates")
    assert cfg.daemon.metrics_file == str(etc / ".." / "metrics" / "casewatch.prom")


def test_absolute_paths_and_empty_ones_are_used_as_written_beside_relative_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    var = tmp_path / "var"
    path = write(etc, f'[state]\ndb = "{(var / "cw.db").as_posix()}"\n[sending]\ntemplates = ""\n')
    monkeypatch.chdir(tmp_path)

    cfg = load(str(path))

    assert cfg.state.db == str(var / "cw.db")
    assert (cfg.sending.templates, cfg.daemon.metrics_file) == ("", "")
    assert cfg.outbound.folder == str(etc / "state" / "outbox")  # the default, relative to the file


def test_every_path_key_is_made_relative_to_the_config_file() -> None:
    """A path key added to a section must be listed in PATH_KEYS, or it would stay relative to cwd."""
    defaults = Config()
    path_like = {
        (section.name, f.name)
        for section in dataclasses.fields(Config)
        if dataclasses.is_dataclass(getattr(defaults, section.name))
        for f in dataclasses.fields(getattr(defaults, section.name))
        if f.name in ("db", "folder", "templates") or f.name.endswith(("_file", "_dir", "_path"))
    }

    assert path_like == set(config.PATH_KEYS)


def test_a_templates_folder_beside_the_config_file_is_found_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc" / "templates").mkdir(parents=True)
    path = write(tmp_path / "etc", '[sending]\ntemplates = "templates"\n')
    monkeypatch.chdir(tmp_path)

    assert load(str(path)).sending.templates == str(tmp_path / "etc" / "templates")


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize("text", ["30 seconds", "30 sec", "30s", "30 secs", "30 Seconds"])
def test_seconds_are_a_duration_of_the_daemon(tmp_path: Path, text: str) -> None:
    from daemon.runner import seconds

    cfg = load(str(write(tmp_path, f'[daemon]\npoll_every = "{text}"\n')))

    assert seconds(cfg.daemon.poll_every) == 30


def test_seconds_are_a_duration_of_a_threshold_too(tmp_path: Path) -> None:
    cfg = load(
        str(write(tmp_path, '[actions.survey]\nafter = "90 seconds"\n[sending]\nretry_for = "45 s"\n'))
    )

    assert str(cfg.actions.survey.after) == "90 seconds"
    assert cfg.sending.retry_for.amount * 60 == 45


def typed_values(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf value of a config table (and of the tables inside it), by key."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        key = f"{prefix}.{f.name}" if prefix else f.name
        value = getattr(obj, f.name)
        items = value if isinstance(value, tuple) else (value,)
        if items and all(dataclasses.is_dataclass(v) and not isinstance(v, Duration) for v in items):
            for i, item in enumerate(items):
                out |= typed_values(item, f"{key}[{i}]" if isinstance(value, tuple) else key)
        else:
            out[key] = value
    return out


def readable(read: Any, text: str) -> bool:
    try:
        read(text)
    except ValueError:
        return False
    return True


def test_a_loaded_config_holds_durations_and_times_of_day_as_typed_values() -> None:
    cfg = config.parse(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    values = typed_values(cfg)

    durations = {k for k, v in values.items() if isinstance(v, Duration)}
    durations |= {k for k, v in values.items() if isinstance(v, tuple) and v and isinstance(v[0], Duration)}
    assert {"actions.request_update.high", "actions.customer_turn.after", "sending.retry_for"} <= durations
    assert {"daemon.poll_every", "actions.digest.skip_after", "actions.agenda.before"} <= durations
    assert all(isinstance(d, Duration) for d in cfg.actions.customer_turn.after)
    assert isinstance(cfg.calendar.day_starts, time)
    assert isinstance(cfg.support_call.time, time)
    assert isinstance(cfg.actions.digest.time, time)
    # no duration or time of day left as text, to be read again at each use
    texts = [(k, t) for k, v in values.items() for t in (v if isinstance(v, tuple) else (v,))]
    texts = [(k, t) for k, t in texts if isinstance(t, str)]
    left = [(k, t) for k, t in texts if readable(duration, t) or readable(parse_clock, t)]
    assert left == []


def test_equal_configs_are_equal_and_their_tables_hash_alike() -> None:
    one = parse({"actions": {"escalate": {"high": "24h"}}, "calendar": {"day_starts": "8:00"}})
    other = parse({"actions": {"escalate": {"high": "24 hours"}}, "calendar": {"day_starts": "08:00"}})
    default = Config()

    assert one == other
    assert one.actions.escalate == other.actions.escalate
    assert hash(one.actions.escalate) == hash(other.actions.escalate)
    assert hash(one.calendar) == hash(other.calendar)
    assert one.actions.escalate != default.actions.escalate
    assert hash(default.actions) == hash(Config().actions)


def test_a_duration_keeps_the_words_it_was_written_in(tmp_path: Path) -> None:
    cfg = load(str(write(tmp_path, '[sending]\nstale_after = "7d"\nretry_for = "2 Days"\n')))

    assert cfg.sending.stale_after == Duration(7, "days")
    assert (cfg.sending.stale_after.as_written, str(cfg.sending.stale_after)) == ("7d", "7 days")
    assert cfg.sending.retry_for.as_written == "2 Days"
    assert Config().sending.stale_after.as_written == "7 days"


@pytest.mark.parametrize("key", ["poll_every", "idle_restart", "backoff_max"])
@pytest.mark.parametrize("text", ["2 business days", "1 business hour"])
def test_business_time_for_a_timer_of_the_daemon_is_an_error_naming_the_key(
    tmp_path: Path, key: str, text: str
) -> None:
    # business time still applies to the outbox's retries: only the timer is refused
    problems = problems_of(tmp_path, f'[daemon]\n{key} = "{text}"\n[sending]\nretry_for = "{text}"\n')

    assert keys_of(problems) == [f"daemon.{key}"]
    assert "business time does not apply" in problems[0].message
    assert "seconds" in problems[0].hint


def test_an_unreadable_timer_names_the_units_it_may_have(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[daemon]\npoll_every = "30 parsecs"\n')

    assert keys_of(problems) == ["daemon.poll_every"]
    assert "not a duration" in problems[0].message
    assert "business" not in problems[0].hint
    assert "seconds" in problems[0].hint


def test_reply_limits_and_required_authentication_without_a_server_are_refused(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "[replies]\nrequire_authentication = true\ntoken_days = 0\nhelp_per_hour = -1\n",
    )
    assert sorted(keys_of(found)) == ["replies.authserv_id", "replies.help_per_hour", "replies.token_days"]
    [auth] = [p for p in found if p.key == "replies.authserv_id"]
    assert "forged Authentication-Results" in auth.message
    fixed = '[replies]\nrequire_authentication = true\nauthserv_id = "mx.example.org"\n'
    ok = load(str(write(tmp_path, fixed)))
    assert (ok.replies.token_days, ok.replies.help_per_hour) == (60, 10)
