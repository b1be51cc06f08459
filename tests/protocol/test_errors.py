"""One exception root for the library: everything it raises is a GizwitsError."""

from __future__ import annotations

from collections.abc import Callable
import inspect

import pytest

from custom_components.gizwits_device import protocol
from custom_components.gizwits_device.protocol import (
    GizwitsError,
    GizwitsValueError,
    normalize_base_url,
    normalize_mac,
    normalize_version,
    validate_did,
)
from custom_components.gizwits_device.protocol.lan import LanError


def test_every_public_exception_has_the_one_root() -> None:
    exceptions = [
        value
        for name in protocol.__all__
        if inspect.isclass(value := getattr(protocol, name)) and issubclass(value, BaseException)
    ]
    assert len(exceptions) > 10
    assert all(issubclass(error, GizwitsError) for error in exceptions)
    assert issubclass(LanError, GizwitsError)


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        (normalize_mac, "zz:zz"),
        (validate_did, "short"),
        (normalize_version, "123456789"),
        (normalize_base_url, "ftp://host"),
        (normalize_base_url, "http://user:pw@host"),
    ],
)
def test_validators_raise_the_library_error(validator: Callable[[str], str], value: str) -> None:
    """A caller's bad argument is a GizwitsValueError (still a ValueError), never a bare one."""
    with pytest.raises(GizwitsValueError) as info:
        validator(value)
    assert type(info.value) is GizwitsValueError
