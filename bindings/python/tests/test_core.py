# SPDX-License-Identifier: Apache-2.0
import re

import pytest

import ztp
from ztp._native import lib


def test_version():
    v = ztp.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v)
    major, minor, patch = (int(x) for x in v.split("."))
    assert ztp.version_num() == (major << 16) | (minor << 8) | patch


def test_init_is_idempotent():
    ztp.init()
    ztp.init()


def test_every_status_has_a_name():
    names = set()
    for code in ztp.Status:
        name = ztp.status_name(code)
        assert re.fullmatch(r"[a-z][a-z_]*", name), (code, name)
        assert ztp.strerror(code) != "unknown error"
        names.add(name)
    # Distinct codes have distinct names (aliases share a value).
    assert len(names) == len({int(c) for c in ztp.Status})
    assert ztp.status_name(-10000) == "unknown"
    assert ztp.status_name(ztp.Status.ENOTFOUND) == "not_found"


@pytest.mark.parametrize("good", ["dev-1", "A", "a.b_c-d", "x" * 64])
def test_validate_id_accepts(good):
    ztp.validate_id(good)
    assert ztp.is_valid_id(good)


@pytest.mark.parametrize("bad", [
    "", "a/b", "a+b", "a#b", "a b", "-lead", "x" * 65, "caf\u00e9", "a$b",
    b"a\0b", "a\nb",
])
def test_validate_id_refuses(bad):
    with pytest.raises(ztp.ZtpError) as e:
        ztp.validate_id(bad)
    assert e.value.code == ztp.Status.EINVAL
    assert e.value.name == "invalid_argument"
    assert e.value.message
    assert not ztp.is_valid_id(bad)


def test_error_carries_detail_of_this_failure():
    with pytest.raises(ztp.ZtpError) as e:
        ztp.validate_id("a/b")
    err = e.value
    assert isinstance(err.code, int) and err.code == -1
    assert "identifier" in err.message
    assert str(err).startswith("invalid_argument: ")


def test_nul_in_string_argument_is_refused_before_the_call():
    with pytest.raises(ztp.ZtpError) as e:
        ztp.Store("memory:\0x")
    assert e.value.code == ztp.Status.EINVAL


def test_wrong_type_is_a_type_error():
    with pytest.raises(TypeError):
        ztp.validate_id(42)


def test_missing_symbol_is_unsupported():
    with pytest.raises(ztp.ZtpError) as e:
        lib.func("ztp_no_such_function")
    assert e.value.code == ztp.Status.EUNSUPPORTED


def test_library_path_is_reported():
    lib.func("ztp_version")
    assert lib.path
