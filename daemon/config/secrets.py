"""Secrets, which never live in the file: a setting ending in ``_env`` names an environment
variable, one ending in ``_command`` a command whose first output line is the secret (a
password, or a current OAuth 2 access token, run anew on every call)."""

from __future__ import annotations

import os
import shlex
import subprocess

from daemon.errors import ConfigError, Problem


def secret(env_name: str, command: str, key: str) -> str | None:
    """A secret from the environment variable ``env_name`` or the output of ``command``."""
    if command:
        what = "token command" if key.endswith("token_command") else "password command"
        try:
            argv = shlex.split(command)
            if not argv:
                raise ValueError("the command is empty")
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            said = _last_line(exc.stderr) if isinstance(exc, subprocess.CalledProcessError) else ""
            detail = f"{exc} (it said: {said})" if said else str(exc)
            raise ConfigError(
                [Problem(key, f"{what} failed: {detail}", "run it by hand to see why")]
            ) from None
        return out.stdout.splitlines()[0] if out.stdout else ""
    if env_name:
        return os.environ.get(env_name)
    return None


def no_password(section: str, env_name: str) -> str:
    """Why no password was found for ``[section]``, naming what to set."""
    if env_name:
        return (
            f"no password: the environment variable {env_name} (named by {section}.password_env) "
            f"is not set (hint: export {env_name}='...' for casewatch, or set {section}.password_command "
            "to a command that prints the password)"
        )
    return (
        f"no password: {section}.password_env and {section}.password_command are both empty "
        f"(hint: set {section}.password_env to the name of an environment variable holding the "
        "password, or password_command to a command that prints it)"
    )


def oauth2_token(command: str, key: str) -> str:
    """A current OAuth 2 access token: the first line ``command`` prints.

    The command is run anew on every call (tokens expire within the hour); it fails, or
    prints no token, as a ``ConfigError`` naming ``key``.
    """
    token = (secret("", command, key) or "").strip()
    if not token:
        raise ConfigError(
            [Problem(key, "the token command printed no token", "it must print a current access token")]
        )
    return token


def _last_line(text: object, limit: int = 200) -> str:
    """The last non-blank line of a command's error output, shortened."""
    if not isinstance(text, str):
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""
