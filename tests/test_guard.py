"""The per-address guard shared by the servers."""

from __future__ import annotations

import mimekit._guard as guard_module
from mimekit._guard import ClientGuard, is_loopback


def test_connections_per_address() -> None:
    g = ClientGuard(max_per_address=2)
    assert g.connect("192.0.2.1") and g.connect("192.0.2.1")
    assert not g.connect("192.0.2.1")  # the third from one host
    assert g.connect("192.0.2.2")  # another host is not affected
    g.disconnect("192.0.2.1")
    g.disconnect("192.0.2.1")
    assert g.connect("192.0.2.1")
    assert all(g.connect("127.0.0.1") for _ in range(10))  # loopback is ours
    assert is_loopback("::1") and not is_loopback("192.0.2.1") and not is_loopback("x")


def test_failed_logins_double_and_are_forgotten(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    monkeypatch.setattr(guard_module.time, "monotonic", lambda: now[0])
    g = ClientGuard(failure_delay=1.0, failure_delay_max=10.0)
    assert [g.failed_login("192.0.2.1") for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert g.failed_login("192.0.2.9") == 1.0
    now[0] += guard_module.FAILURE_MEMORY + 1
    assert g.failed_login("192.0.2.1") == 1.0  # quiet long enough: forgotten


def test_memory_stays_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(guard_module, "MAX_REMEMBERED", 100)
    g = ClientGuard()
    for i in range(1000):
        g.failed_login(f"10.0.{i // 256}.{i % 256}")
    assert len(g._failures) <= 101


def test_logins_are_logged_and_hostile_names_cannot_forge_lines(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("INFO", logger="mimekit.auth")
    g = ClientGuard()
    g.logged_in("192.0.2.1", service="imap", user="alice", mechanism="PLAIN")
    g.failed_login("192.0.2.9", service="smtp", user="x\nimap login: user='root'",
                   mechanism="LOGIN")
    lines = caplog.text.splitlines()
    assert any("imap login: user='alice' method=PLAIN rip=192.0.2.1" in line for line in lines)
    assert len(lines) == 2  # the newline in the name did not start a forged record
    assert 'user="x\\nimap login' in caplog.text  # escaped by repr
    assert "rip=192.0.2.9 (failure 1 from this address" in caplog.text


def test_password_checks_run_two_at_a_time_in_their_own_threads() -> None:
    import asyncio
    import threading
    import time

    from mimekit._guard import check_password

    running, peak, names = [0], [0], set()
    lock = threading.Lock()

    def verify(user: str, password: str) -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            names.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return password == "right"

    async def main() -> list[bool]:
        return await asyncio.gather(*(check_password(verify, "u", "right" if i % 2 else "no")
                                      for i in range(8)))

    assert asyncio.run(main()) == [False, True] * 4
    assert peak[0] == 2
    assert all(n.startswith("mimekit-auth") for n in names)


def test_failure_delay_never_overflows() -> None:
    # 2.0 ** 1024 raises OverflowError: a patient guesser must not break it.
    g = ClientGuard(failure_delay=1.0, failure_delay_max=60.0)
    delays = [g.failed_login("192.0.2.7") for _ in range(1100)]
    assert delays[-1] == 60.0
