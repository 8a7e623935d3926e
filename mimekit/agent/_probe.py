"""``account test``: connect to each endpoint, log in, report what it offers."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._accounts import Account, Endpoint
from ._connect import Connector
from ._errors import AgentError

__all__ = ["Probe", "probe_account"]


@dataclass(slots=True)
class Probe:
    """One endpoint's test.

    Attributes:
        endpoint: What was tested.
        error: Why it failed (None: connected and logged in).
        tls: The connection was encrypted.
        authenticated: Logged in (SMTP without AUTH offered: False, not an error).
        capabilities: What the server announced after login (SMTP EHLO
            keywords with their parameters, POP3 CAPA, IMAP CAPABILITY).
        detail: A line about the mailbox (``"INBOX: 12 messages"``).
    """

    endpoint: Endpoint
    error: AgentError | None = None
    tls: bool = False
    authenticated: bool = False
    capabilities: list[str] = field(default_factory=list)
    detail: str = ""


def _probe(endpoint: Endpoint, connector: Connector) -> Probe:
    probe = Probe(endpoint)
    try:
        if endpoint.protocol == "smtp":
            with connector.smtp(endpoint) as smtp:
                probe.tls = smtp.tls
                probe.authenticated = smtp.authenticated is not None
                probe.capabilities = [f"{k} {v}".strip() for k, v in smtp.extensions.items()]
                if not probe.authenticated:
                    probe.detail = "no AUTH offered: sending without logging in"
        elif endpoint.protocol == "pop3":
            with connector.pop3(endpoint) as pop:
                probe.tls = pop.tls
                probe.authenticated = True
                probe.capabilities = [" ".join([k, *v]) for k, v in pop.capabilities().items()]
                count, octets = pop.stat()
                probe.detail = f"maildrop: {count} messages, {octets} octets"
        else:
            with connector.imap(endpoint) as imap:
                probe.tls = imap.tls
                probe.authenticated = True
                probe.capabilities = sorted(imap.capabilities)
                status = imap.status("INBOX", ["MESSAGES", "UNSEEN"])
                probe.detail = (f"INBOX: {status.get('MESSAGES', 0)} messages, "
                                f"{status.get('UNSEEN', 0)} unseen")
    except AgentError as exc:
        probe.error = exc
    return probe


def probe_account(account: Account, connector: Connector) -> list[Probe]:
    """Test every endpoint of ``account`` (SMTP, IMAP, POP3 in that order)."""
    return [_probe(ep, connector) for ep in (account.smtp, account.imap, account.pop3)
            if ep is not None]
