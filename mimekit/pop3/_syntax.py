"""POP3 syntax: command lines, status lines, RESP-CODES, APOP, CAPA.

RFC 2449 section 9 (the formal syntax of POP3 with extensions)::

    command     = keyword *(SP param) CRLF    ;255 octets maximum
    keyword     = 3*4VCHAR
    param       = 1*VCHAR
    response    = *multi-line / single-line
    single-line = status [SP text] CRLF       ;512 octets maximum
    multi-line  = single-line *dot-stuffed "." CRLF
    status      = "+OK" / "-ERR"
    resp-code   = "[" resp-level *("/" resp-level) "]"
    resp-level  = 1*rchar
    rchar       = %x21-2E / %x30-5C / %x5E-7F
                        ;printable ASCII, excluding "/" and "]"
    text        = *schar / resp-code *CHAR
    capa-resp   = "+OK" [SP text] CRLF *capa-line "." CRLF
    capa-line   = capability CRLF
    capability  = capa-tag *(SP param)
    capa-tag    = 1*cchar

RFC 1939 section 7 (the commands)::

    USER name          PASS string        APOP name digest
    STAT               LIST [msg]         RETR msg
    DELE msg           NOOP               RSET
    QUIT               TOP msg n          UIDL [msg]

RFC 5034 section 4 (SASL)::

    auth-command     = "AUTH" SP sasl-mech [SP initial-response] CRLF
    initial-response = base64 / "="
    continue-req     = "+" SP [base64] CRLF
    cancel-response  = "*"

Deviations, as real servers and clients make them: the 255-octet command
limit of RFC 2449 is raised to 512 (some user names are long e-mail
addresses), the 40-character argument limit of RFC 1939 is not enforced,
``PASS`` takes the rest of the line (RFC 1939 allows spaces in it), keywords
are case-insensitive, and trailing spaces on a command line are ignored.
User names and passwords are read as UTF-8.
"""

from __future__ import annotations

import hashlib
import re

from ._errors import LocalProtocolError
from ._events import (
    Apop,
    Auth,
    AuthList,
    Capa,
    Command,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Response,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
)

__all__ = [
    "CommandSyntaxError",
    "apop_digest",
    "apop_timestamp",
    "format_command",
    "format_response",
    "parse_capabilities",
    "parse_command",
    "parse_response_line",
]

#: ``msg`` and ``n``: decimal digits, bounded so a number is never huge.
_NUMBER = re.compile(r"[0-9]{1,10}")
#: RFC 2449 ``resp-code`` at the start of the text.
_RESP_CODE = re.compile(r"\[([!-.0-\\^-~]+(?:/[!-.0-\\^-~]+)*)\](?: |$)")
#: RFC 1939 section 7: the APOP timestamp is a msg-id, ``<...@...>``.
_TIMESTAMP = re.compile(r"<[!-;=?A-~]+@[!-;=?-~]+>")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_SASL_MECH = re.compile(r"[A-Z0-9_-]{1,20}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CommandSyntaxError(ValueError):
    """A command line that cannot be parsed; the message is the ``-ERR`` text."""


def _number(text: str, what: str, *, minimum: int = 1) -> int:
    if not _NUMBER.fullmatch(text) or int(text) < minimum:
        raise CommandSyntaxError(f"invalid {what}: {text[:20]!r}")
    return int(text)


def _args(verb: str, rest: str, low: int, high: int) -> list[str]:
    args = rest.split(" ") if rest else []
    if any(not a for a in args):
        raise CommandSyntaxError(f"{verb}: arguments are separated by one space")
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise CommandSyntaxError(f"{verb} takes {want} argument{'s' if high != 1 else ''}")
    return args


def parse_command(line: bytes) -> Command:
    """Parse one command line (line ending removed) into a command event.

    Raises:
        CommandSyntaxError: unknown keyword, bad arguments or bytes; the
            message is the text for ``-ERR``.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandSyntaxError("command is not valid UTF-8") from None
    if _CONTROL.search(text):
        raise CommandSyntaxError("control character in command")
    verb, _, rest = text.partition(" ")
    verb = verb.upper()
    if verb == "PASS":
        # RFC 1939: the argument may contain spaces; take the line as is.
        if not rest:
            raise CommandSyntaxError("PASS needs a password")
        return Pass(password=rest)
    rest = rest.rstrip(" ")
    if verb in _NO_ARGS:
        _args(verb, rest, 0, 0)
        return _NO_ARGS[verb]
    if verb == "USER":
        (name,) = _args(verb, rest, 1, 1)
        return User(name=name)
    if verb == "APOP":
        name, digest = _args(verb, rest, 2, 2)
        if not _HEX32.fullmatch(digest):
            raise CommandSyntaxError("APOP digest must be 32 hex digits")
        return Apop(name=name, digest=digest.lower())
    if verb == "AUTH":
        args = _args(verb, rest, 0, 2)
        if not args:
            return AuthList()
        mech = args[0].upper()
        if not _SASL_MECH.fullmatch(mech):
            raise CommandSyntaxError("invalid SASL mechanism name")
        if len(args) == 2 and not (args[1] == "=" or _BASE64.fullmatch(args[1])):
            raise CommandSyntaxError("initial response is not base64")
        return Auth(mechanism=mech, initial_response=args[1] if len(args) == 2 else None)
    if verb in ("LIST", "UIDL"):
        args = _args(verb, rest, 0, 1)
        msg = _number(args[0], "message number") if args else None
        return List(msg=msg) if verb == "LIST" else Uidl(msg=msg)
    if verb in ("RETR", "DELE"):
        (arg,) = _args(verb, rest, 1, 1)
        msg = _number(arg, "message number")
        return Retr(msg=msg) if verb == "RETR" else Dele(msg=msg)
    if verb == "TOP":
        msg_arg, n_arg = _args(verb, rest, 2, 2)
        return Top(msg=_number(msg_arg, "message number"),
                   lines=_number(n_arg, "line count", minimum=0))
    raise CommandSyntaxError(f"unknown command {verb[:12]!r}")


_NO_ARGS: dict[str, Command] = {"STAT": Stat(), "NOOP": Noop(), "RSET": Rset(),
                                "QUIT": Quit(), "CAPA": Capa(), "STLS": Stls()}


def _check_arg(value: str, what: str, *, spaces: bool = False) -> str:
    """A caller's argument: no CR, LF or NUL (no command injection), not
    empty, and (unless ``spaces``) no space."""
    if not value or any(c in value for c in "\r\n\x00") or (not spaces and " " in value):
        raise LocalProtocolError(f"invalid {what} for a POP3 command: {value[:40]!r}")
    return value


def _check_number(value: int, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise LocalProtocolError(f"invalid {what}: {value!r}")
    return value


def format_command(command: Command) -> bytes:
    """The bytes of a command line, CRLF-terminated.

    Raises:
        LocalProtocolError: an argument would break the line (CR, LF, NUL),
            a name with a space, a message number below 1.
    """
    if isinstance(command, User):
        text = f"USER {_check_arg(command.name, 'user name')}"
    elif isinstance(command, Pass):
        text = f"PASS {_check_arg(command.password, 'password', spaces=True)}"
    elif isinstance(command, Apop):
        if not _HEX32.fullmatch(command.digest):
            raise LocalProtocolError("APOP digest must be 32 hex digits")
        text = f"APOP {_check_arg(command.name, 'user name')} {command.digest.lower()}"
    elif isinstance(command, AuthList):
        text = "AUTH"
    elif isinstance(command, Auth):
        mech = _check_arg(command.mechanism, "SASL mechanism").upper()
        text = f"AUTH {mech}"
        if command.initial_response is not None:
            text += " " + _check_arg(command.initial_response, "initial response")
    elif isinstance(command, List | Uidl):
        verb = "LIST" if isinstance(command, List) else "UIDL"
        text = verb if command.msg is None else \
            f"{verb} {_check_number(command.msg, 'message number')}"
    elif isinstance(command, Retr | Dele):
        verb = "RETR" if isinstance(command, Retr) else "DELE"
        text = f"{verb} {_check_number(command.msg, 'message number')}"
    elif isinstance(command, Top):
        text = (f"TOP {_check_number(command.msg, 'message number')} "
                f"{_check_number(command.lines, 'line count', 0)}")
    else:
        for verb, event in _NO_ARGS.items():
            if type(command) is type(event):
                text = verb
                break
        else:
            raise LocalProtocolError(f"{command!r} is not a POP3 command line")
    return text.encode("utf-8") + b"\r\n"


def format_response(response: Response) -> bytes:
    """The bytes of a status line.

    Raises:
        LocalProtocolError: CR, LF or NUL in the text, or a RESP-CODE that is
            not valid RFC 2449 syntax.
    """
    if any(c in response.text for c in "\r\n\x00"):
        raise LocalProtocolError("CR, LF or NUL in a response text")
    out = "+OK" if response.ok else "-ERR"
    if response.code is not None:
        if not _RESP_CODE.fullmatch(f"[{response.code}]"):
            raise LocalProtocolError(f"invalid RESP-CODE {response.code!r}")
        out += f" [{response.code}]"
    if response.text:
        out += " " + response.text
    return out.encode("utf-8") + b"\r\n"


def parse_response_line(line: bytes) -> Response | None:
    """A ``+OK``/``-ERR`` status line, or None when the line is not one.

    Some servers omit the space (``+OK``) or send lower case; both are read.
    A RESP-CODE is split off the text; invalid UTF-8 is replaced.
    """
    text = line.decode("utf-8", "replace")
    upper = text[:4].upper()
    if upper.startswith("+OK"):
        ok, rest = True, text[3:]
    elif upper == "-ERR":
        ok, rest = False, text[4:]
    else:
        return None
    if rest and not rest.startswith(" "):
        return None
    rest = rest[1:]
    m = _RESP_CODE.match(rest)
    if m is not None:
        return Response(ok=ok, text=rest[m.end():], code=m.group(1))
    return Response(ok=ok, text=rest)


def apop_timestamp(greeting: str) -> str | None:
    """The APOP timestamp of a greeting (``<1896.697170952@dbc.mtview.ca.us>``),
    or None when the server does not offer APOP (RFC 1939 section 7)."""
    m = _TIMESTAMP.search(greeting)
    return m.group(0) if m else None


def apop_digest(timestamp: str, secret: str) -> str:
    """RFC 1939 section 7: ``MD5(timestamp + secret)`` in lower-case hex.

    MD5 here is the protocol's, not a choice: APOP only hides the secret
    from a passive eavesdropper; prefer TLS.
    """
    return hashlib.md5((timestamp + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_capabilities(lines: list[str]) -> dict[str, list[str]]:
    """The CAPA lines as ``{TAG: [params]}`` (tags upper-cased, RFC 2449 section 6)."""
    caps: dict[str, list[str]] = {}
    for line in lines:
        words = line.split()
        if words:
            caps[words[0].upper()] = words[1:]
    return caps
