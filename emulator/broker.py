"""A throw-away mosquitto broker for the emulator and the tests.

`MosquittoBroker` runs ``mosquitto -c <conf>`` on a free 127.0.0.1 port with password + ACL files
in a temporary directory, persistence off and anonymous access refused.

Measured on mosquitto 2.0.11:
- Hashes written here (``$7$`` PBKDF2-SHA512, 101 rounds, as mosquitto_passwd writes) are accepted;
  writing them in Python costs microseconds, ``mosquitto_passwd -b`` a process spawn per user.
- SIGHUP reloads the password and ACL files, and mosquitto then *disconnects* every connected
  client whose username is no longer in the password file (that is how a disabled DID is dropped;
  no broker restart is needed). A reload is settled when a fresh one-off "reload token" user can
  log in: the token's password changes on every reload, so `reload()` polls a raw MQTT CONNECT
  with the new password until CONNACK says accepted.
- Its log goes to stderr (a log file would be block-buffered) and is read live into a
  `BrokerLog`: who published on a watched topic, and every publish the ACL denied.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
import contextlib
from dataclasses import dataclass
import hashlib
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import tempfile

from emulator.brokerlog import BrokerLog
from emulator.lifecycle import Service
from emulator.probe import probe_connect

HOST = "127.0.0.1"
_RELOAD_USER = "__emulator_reload_token"
_START_TIMEOUT = 10.0
_RELOAD_TIMEOUT = 10.0
# mosquitto must not outlive a crashed or SIGKILLed test run: have the kernel SIGTERM it when its
# parent dies (util-linux setpriv execs mosquitto, so the pid is mosquitto's own).
_SETPRIV = shutil.which("setpriv")
_PDEATHSIG: tuple[str, ...] = (_SETPRIV, "--pdeathsig", "TERM") if _SETPRIV else ()


class BrokerError(RuntimeError):
    """The broker could not be started, reloaded or stopped."""


@dataclass(frozen=True, slots=True)
class BrokerUser:
    """One password-file user and its ACL lines (``topic read|write|readwrite <filter>``)."""

    username: str
    password: str
    acl: tuple[str, ...]


def hash_password(password: str) -> str:
    """Return a mosquitto 2.0 password-file hash (``$7$``: PBKDF2-SHA512, 101 iterations)."""
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return f"$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def device_acl(did: str, product_key: str) -> tuple[str, ...]:
    """What the Gizwits M2M server lets a device (username = DID) do.

    Read only its three subscriptions; write only `dev2app/<did>`, `dev2app/<did>/<anything>`
    and `cli2ser_req` (0x020F). `ser2cli_*` topics are server → device only.
    """
    return (
        f"topic read ser2cli_res/{did}",
        f"topic read ser2cli_noti/{product_key}",
        f"topic read app2dev/{did}/#",
        f"topic write dev2app/{did}",
        f"topic write dev2app/{did}/#",
        "topic write cli2ser_req",
    )


def app_acl(did: str, client_id: str) -> tuple[str, ...]:
    """ACL of one simulated app bound to `did`: it can never publish as the device."""
    return (
        f"topic write app2dev/{did}/{client_id}",
        f"topic read dev2app/{did}",
        f"topic read dev2app/{did}/{client_id}",
    )


def cloud_acl() -> tuple[str, ...]:
    """ACL of the emulator's cloud agent."""
    return (
        "topic read cli2ser_req",
        "topic write ser2cli_res/#",
        "topic write ser2cli_noti/#",
        "topic read dev2app/#",
    )


def free_port(host: str = HOST) -> int:
    """Return a TCP port that was free a moment ago (bind port 0, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class MosquittoBroker(Service):
    """A mosquitto process on 127.0.0.1 with its own temp dir; async context manager."""

    def __init__(self, *, port: int = 0, executable: str = "mosquitto") -> None:
        """`port=0` picks a free port; a restart keeps the port."""
        self.host = HOST
        self.port = port
        self._executable = executable
        self._users: dict[str, BrokerUser] = {}
        self._dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._paused = False
        self._reload_pending = False
        self._log_reader: asyncio.Task[None] | None = None
        self.log = BrokerLog()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the mosquitto process is alive."""
        return self._proc is not None and self._proc.returncode is None

    @property
    def directory(self) -> Path:
        """The temp dir holding the config, password, ACL and log files."""
        if self._dir is None:
            raise BrokerError("broker not started")
        return self._dir

    async def start(self) -> None:
        """Start mosquitto and wait until it accepts logins."""
        if self.running:
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="gizwits-mosquitto-"))
        fixed_port = self.port != 0
        last_error = ""
        for _attempt in range(1 if fixed_port else 5):
            port = self.port if fixed_port else free_port()
            self._write_files(port)
            self._proc = await asyncio.create_subprocess_exec(
                *_PDEATHSIG,
                self._executable,
                "-c",
                str(self._dir / "mosquitto.conf"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            assert self._proc.stderr is not None
            self._log_reader = asyncio.create_task(
                self._read_log(self._proc.stderr), name="mosquitto-log"
            )
            if await self._wait_login(port):
                self.port = port
                return
            last_error = self.log_text()[-2000:]
            await self._kill()
        raise BrokerError(f"mosquitto did not start; log tail:\n{last_error}")

    async def stop(self) -> None:
        """Stop mosquitto (also when paused) and delete the temp dir."""
        await self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def restart(self) -> None:
        """Stop and start again on the same port (drops every client)."""
        await self._kill()
        await self.start()

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        reader, self._log_reader = self._log_reader, None
        try:
            await self._end(proc)
        finally:
            if reader is not None:
                # mosquitto closed its stderr: the reader ends after the last line.
                await asyncio.gather(reader, return_exceptions=True)

    async def _end(self, proc: asyncio.subprocess.Process | None) -> None:
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if self._paused:
                proc.send_signal(signal.SIGCONT)
            proc.terminate()
        self._paused = False
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    def pause(self) -> None:
        """SIGSTOP the broker: connections stay open but nothing is answered (heartbeat loss)."""
        if self._proc is None or not self.running:
            raise BrokerError("broker not running")
        self._proc.send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """SIGCONT a paused broker (and SIGHUP it if users changed meanwhile; not awaited)."""
        if self._proc is None or not self.running:
            raise BrokerError("broker not running")
        self._proc.send_signal(signal.SIGCONT)
        self._paused = False
        if self._reload_pending:
            self._reload_pending = False
            self._proc.send_signal(signal.SIGHUP)

    @property
    def paused(self) -> bool:
        """True between `pause()` and `resume()`."""
        return self._paused

    # -- users -----------------------------------------------------------------------------

    @property
    def users(self) -> dict[str, BrokerUser]:
        """Current users by name (a copy)."""
        return dict(self._users)

    def stage_user(self, username: str, password: str, acl_lines: Iterable[str] = ()) -> None:
        """Add or replace a user in the table only; `reload()` applies it."""
        if not username or any(c in username for c in ":\n") or "\n" in password:
            raise ValueError(f"bad username/password: {username!r}")
        self._users[username] = BrokerUser(username, password, tuple(acl_lines))

    def unstage_user(self, username: str) -> None:
        """Remove a user from the table only; `reload()` applies it."""
        self._users.pop(username, None)

    async def add_user(
        self, username: str, password: str, acl_lines: Iterable[str] = (), *, reload: bool = True
    ) -> None:
        """Add or replace a user; with `reload` the broker knows it when this returns."""
        self.stage_user(username, password, acl_lines)
        if reload:
            await self.reload()

    async def remove_user(self, username: str, *, reload: bool = True) -> None:
        """Remove a user; after the reload mosquitto also disconnects its live clients."""
        self.unstage_user(username)
        if reload:
            await self.reload()

    async def reload(self) -> None:
        """Rewrite the password/ACL files, SIGHUP mosquitto and wait until the reload is done."""
        if self._proc is None or not self.running:
            # Not running: files are written on start.
            return
        token = self._write_files(self.port)
        if self._paused:
            # A stopped process cannot reload; `resume()` sends the SIGHUP.
            self._reload_pending = True
            return
        self._proc.send_signal(signal.SIGHUP)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _RELOAD_TIMEOUT
        while loop.time() < deadline:
            code = await probe_connect(self.host, self.port, _RELOAD_USER, token, "reload-probe")
            if code == 0:
                return
            await asyncio.sleep(0.005)
        raise BrokerError("mosquitto did not finish reloading")

    def log_text(self) -> str:
        """The tail of the broker log (kept in memory, also after stop)."""
        return self.log.text()

    async def sync_log(self) -> None:
        """Wait until the log holds every line for what the broker did before this call.

        mosquitto handles clients one at a time and logs as it goes, so once the line for a
        fresh probe login has been read, so has every line before it.
        """
        if not self.running or self._paused:
            return
        probe = f"logsync{secrets.token_hex(4)}"
        seen = asyncio.create_task(self.log.wait_line(lambda line: f" as {probe} " in line))
        await asyncio.sleep(0)  # the waiter is registered before the probe connects
        try:
            await probe_connect(self.host, self.port, _RELOAD_USER, self._token, probe)
            await seen
        finally:
            seen.cancel()

    async def _read_log(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over the stream limit: skip it
                continue
            if not raw:
                return
            await self.log.feed(raw.decode(errors="replace").rstrip("\n"))

    # -- internals -------------------------------------------------------------------------

    async def _wait_login(self, port: int) -> bool:
        token = self._token
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT
        while loop.time() < deadline and self.running:
            if await probe_connect(self.host, port, _RELOAD_USER, token, "start-probe") == 0:
                return True
            await asyncio.sleep(0.005)
        return False

    def _write_files(self, port: int) -> str:
        """Write conf, password and ACL files atomically; return the fresh reload token."""
        directory = self.directory
        self._token = secrets.token_hex(8)
        users = [*self._users.values(), BrokerUser(_RELOAD_USER, self._token, ())]
        passwd = "".join(f"{u.username}:{hash_password(u.password)}\n" for u in users)
        acl = "".join(
            f"user {u.username}\n" + "".join(f"{line}\n" for line in u.acl) + "\n" for u in users
        )
        conf_lines = [
            f"listener {port} {self.host}",
            "allow_anonymous false",
            f"password_file {directory / 'passwd'}",
            f"acl_file {directory / 'acl'}",
            "persistence false",
            "log_dest stderr",
            "log_type all",
            "connection_messages true",
            # Like production brokers (EMQX's default): a device's ack and the report right
            # after it reach the app at once, not one delayed ACK (~40 ms) apart.
            "set_tcp_nodelay true",
        ]
        if os.geteuid() == 0:
            # Without it mosquitto drops privileges to "mosquitto" and cannot read our files.
            conf_lines.append("user root")
        for name, text in (
            ("passwd", passwd),
            ("acl", acl),
            ("mosquitto.conf", "\n".join(conf_lines) + "\n"),
        ):
            tmp = directory / f".{name}.tmp"
            tmp.write_text(text)
            tmp.replace(directory / name)
        return self._token

    _token: str = ""
