"""SMTP syntax: command lines, paths, ESMTP parameters and replies.

RFC 5321 section 4.1.2 (with RFC 6531 for SMTPUTF8)::

    Reverse-path   = Path / "<>"
    Forward-path   = Path
    Path           = "<" [ A-d-l ":" ] Mailbox ">"
    A-d-l          = At-domain *( "," At-domain )     ; source route, ignored
    Mailbox        = Local-part "@" ( Domain / address-literal )
    Mail-parameters = esmtp-param *(SP esmtp-param)
    esmtp-param    = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value    = 1*(%d33-60 / %d62-126 / UTF8-non-ascii)

    Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
                     Reply-code [ SP textstring ] CRLF

Deviations, as real servers make them: a space after ``FROM:``/``TO:`` is
accepted (many clients send ``MAIL FROM: <a@b>``), a path without angle
brackets is accepted for RCPT/MAIL from old clients, and verbs are
case-insensitive. A reply line with only the code (``250``) is accepted.
"""

from __future__ import annotations

import re

from ._events import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Reply,
    Rset,
    StartTLS,
    Vrfy,
)

__all__ = [
    "CommandSyntaxError",
    "format_command",
    "format_reply",
    "parse_command",
    "parse_ehlo_keywords",
    "parse_reply_line",
    "split_enhanced",
]

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_VALUE = re.compile(r"[!-<>-~\x80-\U0010ffff]+")
#: RFC 3463: class "." subject "." detail, with class 2, 4 or 5.
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")
_PATH_PREFIX = {"MAIL": "FROM:", "RCPT": "TO:"}


class CommandSyntaxError(ValueError):
    """A command line that cannot be parsed. ``code`` is the reply to give."""

    def __init__(self, message: str, code: int = 501, enhanced: tuple[int, int, int] = (5, 5, 4)):
        super().__init__(message)
        self.code = code
        self.enhanced = enhanced


def _parse_path(text: str, *, allow_null: bool) -> tuple[str, str]:
    """Split ``<path> params`` into the address and the rest."""
    text = text.lstrip(" ")
    if text.startswith("<"):
        end = text.find(">")
        if end < 0:
            raise CommandSyntaxError("unclosed '<' in path")
        path, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(" "):
            raise CommandSyntaxError("text after the path must be parameters")
    else:
        # Old clients send a bare address; take everything up to a space.
        path, _, rest = text.partition(" ")
        rest = " " + rest if rest else ""
    if ":" in path and path.startswith("@"):
        path = path.split(":", 1)[1]  # drop a source route (RFC 5321 section 4.1.2)
    if not path:
        if not allow_null:
            raise CommandSyntaxError("empty forward-path")
        return "", rest
    if any(c in path for c in " <>\r\n\x00") or "@" not in path.strip('"'):
        raise CommandSyntaxError(f"bad mailbox {path[:80]!r}", 501, (5, 1, 3))
    return path, rest


def _parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for item in text.split():
        key, eq, value = item.partition("=")
        if not _KEYWORD.fullmatch(key) or (eq and not _VALUE.fullmatch(value)):
            raise CommandSyntaxError(f"bad parameter {item[:80]!r}", 501, (5, 5, 4))
        params[key.upper()] = value if eq else None
    return params


def parse_command(line: bytes, *, smtputf8: bool = True) -> Command:
    """Parse one command line (CRLF already removed) into a command event.

    Args:
        line: The line's bytes.
        smtputf8: Accept UTF-8 in paths and parameters (RFC 6531); otherwise
            non-ASCII bytes are a syntax error.

    Raises:
        CommandSyntaxError: with the reply code to give (500 unknown command,
            501 bad arguments, 504 unknown parameter form).
    """
    try:
        text = line.decode("utf-8" if smtputf8 else "ascii")
    except UnicodeDecodeError as exc:
        raise CommandSyntaxError("non-ASCII bytes in command (SMTPUTF8 not in use)",
                                 500, (5, 6, 7)) from exc
    verb, _, arg = text.partition(" ")
    verb = verb.upper()
    arg = arg.strip(" ")
    if verb in ("EHLO", "HELO"):
        if not arg or " " in arg:
            raise CommandSyntaxError(f"{verb} needs exactly one domain")
        return Ehlo(domain=arg) if verb == "EHLO" else Helo(domain=arg)
    if verb in ("MAIL", "RCPT"):
        prefix = _PATH_PREFIX[verb]
        if not arg[:len(prefix)].upper() == prefix:
            raise CommandSyntaxError(f"{verb} needs {prefix}<address>")
        path, rest = _parse_path(arg[len(prefix):], allow_null=verb == "MAIL")
        params = _parse_params(rest)
        if verb == "MAIL":
            return Mail(sender=path, params=params)
        return Rcpt(recipient=path, params=params)
    if verb == "BDAT":
        size_text, _, last = arg.partition(" ")
        if (not size_text.isdigit() or len(size_text) > 15
                or last.strip().upper() not in ("", "LAST")):
            raise CommandSyntaxError("BDAT needs a chunk size and optionally LAST")
        return Bdat(size=int(size_text), last=bool(last.strip()))
    if verb == "AUTH":
        mechanism, _, initial = arg.partition(" ")
        if not _KEYWORD.fullmatch(mechanism.replace("_", "-")):
            raise CommandSyntaxError("AUTH needs a mechanism")
        return Auth(mechanism=mechanism.upper(), initial_response=initial.strip() or None)
    simple: dict[str, Command] = {"DATA": Data(), "RSET": Rset(), "NOOP": Noop(),
                                  "QUIT": Quit(), "STARTTLS": StartTLS()}
    if verb in simple:
        if arg and verb not in ("NOOP",):
            raise CommandSyntaxError(f"{verb} takes no argument")
        return simple[verb]
    if verb == "VRFY":
        if not arg:
            raise CommandSyntaxError("VRFY needs an argument")
        return Vrfy(argument=arg)
    if verb == "HELP":
        return Help(argument=arg)
    raise CommandSyntaxError(f"command not recognized: {verb[:20]!r}", 500, (5, 5, 1))


def _check_text(value: str, what: str) -> str:
    if any(c in value for c in "\r\n\x00"):
        raise ValueError(f"{what} contains CR, LF or NUL: {value!r}")
    return value


def _format_params(params: dict[str, str | None]) -> str:
    out = []
    for key, value in params.items():
        if not _KEYWORD.fullmatch(key) or (value is not None and not _VALUE.fullmatch(value)):
            raise ValueError(f"bad ESMTP parameter {key}={value!r}")
        out.append(key if value is None else f"{key}={value}")
    return "".join(" " + p for p in out)


def format_command(command: Command) -> bytes:
    """The command line (with CRLF) for a command event (client side).

    Raises:
        ValueError: an argument holds CR, LF or NUL, or a parameter is malformed
            (a caller mistake: refused before anything is sent).
    """
    if isinstance(command, Ehlo | Helo):
        verb = "EHLO" if isinstance(command, Ehlo) else "HELO"
        line = f"{verb} {_check_text(command.domain, 'domain')}"
    elif isinstance(command, Mail):
        line = (f"MAIL FROM:<{_check_text(command.sender, 'sender')}>"
                + _format_params(command.params))
    elif isinstance(command, Rcpt):
        line = (f"RCPT TO:<{_check_text(command.recipient, 'recipient')}>"
                + _format_params(command.params))
    elif isinstance(command, Bdat):
        line = f"BDAT {command.size}" + (" LAST" if command.last else "")
    elif isinstance(command, Auth):
        line = f"AUTH {_check_text(command.mechanism, 'mechanism')}"
        if command.initial_response is not None:
            line += " " + _check_text(command.initial_response, "initial response")
    elif isinstance(command, Vrfy):
        line = f"VRFY {_check_text(command.argument, 'argument')}"
    elif isinstance(command, Help):
        line = "HELP" + (f" {_check_text(command.argument, 'argument')}"
                         if command.argument else "")
    else:
        names = {Data: "DATA", Rset: "RSET", Noop: "NOOP", Quit: "QUIT", StartTLS: "STARTTLS"}
        verb_for = names.get(type(command))
        if verb_for is None:
            raise TypeError(f"not a command a client sends: {command!r}")
        line = verb_for
    return line.encode("utf-8") + b"\r\n"


def parse_reply_line(line: bytes) -> tuple[int, bool, str] | None:
    """Parse one reply line (without CRLF): ``(code, is_last, text)``.

    Returns None when the line is not a reply line at all.
    """
    if len(line) < 3 or not line[:3].isdigit():
        return None
    sep = line[3:4]
    if sep not in (b"", b" ", b"-"):
        return None
    text = line[4:].decode("utf-8", "replace")
    return int(line[:3]), sep != b"-", text


def split_enhanced(lines: list[str]) -> tuple[tuple[str, ...], tuple[int, int, int] | None]:
    """Take an RFC 3463 enhanced status code off the front of reply lines.

    The code is taken when the first line starts with one; it is then removed
    from every line that repeats it.
    """
    m = _ENHANCED.match(lines[0]) if lines else None
    if m is None:
        return tuple(lines), None
    code = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    prefix = m.group(0).rstrip(" ")
    out = []
    for text in lines:
        if text.startswith(prefix):
            text = text[len(prefix):].lstrip(" ")
        out.append(text)
    return tuple(out), code


def format_reply(reply: Reply) -> bytes:
    """The reply's lines with CRLF (server side), enhanced code on each line.

    Raises:
        ValueError: a code outside 200-599, or text with CR, LF or NUL.
    """
    if not 200 <= reply.code <= 599:
        raise ValueError(f"reply code out of range: {reply.code}")
    prefix = ""
    if reply.enhanced is not None:
        if reply.enhanced[0] != reply.code // 100:
            raise ValueError(f"enhanced code {reply.enhanced} does not match {reply.code}")
        prefix = ".".join(map(str, reply.enhanced)) + " "
    lines = reply.lines or ("",)
    out = []
    for i, text in enumerate(lines):
        _check_text(text, "reply text")
        sep = " " if i == len(lines) - 1 else "-"
        # A trailing space is kept: "334 " is an empty SASL challenge (RFC 4954).
        out.append(f"{reply.code}{sep}{prefix}{text}" + "\r\n")
    return "".join(out).encode("utf-8")


def parse_ehlo_keywords(reply: Reply) -> dict[str, str]:
    """The extensions an EHLO reply offers: ``{"SIZE": "10240000", "PIPELINING": ""}``.

    The first line is the server's greeting and is skipped. Keywords are
    upper-cased; the rest of the line is the value. ``AUTH=LOGIN`` (an old
    Microsoft form) counts as ``AUTH LOGIN``.
    """
    out: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, value = line.strip().partition(" ")
        if "=" in keyword and keyword.upper().startswith("AUTH="):
            keyword, _, value = keyword.partition("=")
            value = value + (" " + out["AUTH"] if out.get("AUTH") else "")
        if _KEYWORD.fullmatch(keyword):
            key = keyword.upper()
            if key == "AUTH" and key in out:
                value = " ".join(dict.fromkeys((out[key] + " " + value).split()))
            out[key] = value.strip()
    return out
