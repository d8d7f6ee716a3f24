"""dispatcher/hub/people.py without a hub: the clerks and staff file, PIN checks, and
the wrong-PIN backoff on an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from hub_process import SAMPLE_CLERKS, SAMPLE_PINS

from dispatcher.hall import HallConfigError
from dispatcher.hub.people import (
    FREE_TRIES,
    MAX_LOCK_S,
    People,
    Person,
    hash_pin,
    load_people,
    pin_matches,
)
from dispatcher.protocol import ProtocolError


@pytest.fixture(scope="module")
def people() -> dict[str, Person]:
    return load_people(SAMPLE_CLERKS)


def test_the_sample_file_holds_its_clerks_and_staff(people: dict[str, Person]) -> None:
    assert {p: people[p].kind for p in people} == {
        "clerk-017": "clerks", "clerk-018": "clerks", "clerk-021": "clerks",
        "staff-001": "staff", "staff-002": "staff"}
    assert people["clerk-017"].name == "王芳"
    assert "pin_hash" not in repr(people["clerk-017"]) and "salt" not in repr(people["clerk-017"])


@pytest.mark.parametrize("person", sorted(SAMPLE_PINS))
def test_each_sample_pin_verifies_and_no_other(people: dict[str, Person], person: str) -> None:
    pin = SAMPLE_PINS[person]
    assert pin_matches(people[person], pin)
    assert not pin_matches(people[person], pin[:-1] + str((int(pin[-1]) + 1) % 10))
    assert not pin_matches(people[person], pin + "0")
    assert not pin_matches(people[person], "")
    others = [p for p in SAMPLE_PINS if p != person]
    assert not any(pin_matches(people[o], pin) for o in others)  # one's PIN opens no other


def test_an_unknown_person_never_matches() -> None:
    assert not pin_matches(None, "1701")
    assert not pin_matches(None, "")


def test_get_keeps_clerks_and_staff_apart(people: dict[str, Person]) -> None:
    hall = People(people)
    assert hall.get("clerk-017", "clerks") is people["clerk-017"]
    assert hall.get("clerk-017", "staff") is None      # a clerk cannot sign in at a console
    assert hall.get("staff-001", "clerks") is None     # nor staff at a window
    assert hall.get("nobody", "clerks") is None


def test_hash_pin_roundtrip() -> None:
    salt, digest = hash_pin("4321")
    person = Person("x", "X", "clerks", bytes.fromhex(salt), bytes.fromhex(digest))
    assert pin_matches(person, "4321") and not pin_matches(person, "1234")
    assert hash_pin("4321")[0] != salt                         # a fresh salt each time
    assert hash_pin("4321", bytes.fromhex(salt)) == (salt, digest)


ENTRY = 'name = "A"\nsalt = "00"\npin_hash = "' + "ab" * 32 + '"\n'


@pytest.mark.parametrize(("text", "key", "fragment"), [
    ("not toml [", "-", "not valid TOML"),
    ("x = 1", "x", "unknown table"),
    ("", "clerks", "missing: add [clerks.<id>] tables"),
    ("[clerks]\n", "clerks", "missing"),
    ('[clerks.a]\nname = "A"\nsalt = "00"', "clerks.a.pin_hash", "missing or not a text"),
    ('[clerks.a]\nname = " "\nsalt = "00"\npin_hash = "00"', "clerks.a.name", "missing"),
    ('[clerks.a]\nname = "A"\nsalt = "zz"\npin_hash = "00"', "clerks.a", "must be hex"),
    ('[clerks.a]\nname = "A"\nsalt = "00"\npin_hash = "00"', "clerks.a.pin_hash",
     "64 hex digits"),
    ("[clerks.a]\n" + ENTRY + "pin = 1701\n", "clerks.a.pin", "unknown key"),
    ("[clerks.a]\n" + ENTRY + "[staff.a]\n" + ENTRY, "staff.a", "as a clerk and as staff"),
    ("clerks = 3\n", "clerks", "missing"),
    ('[clerks]\na = "x"\n', "clerks.a", "must be a table"),
])
def test_file_errors_are_one_line_naming_the_file_and_key(
        tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = tmp_path / "clerks.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HallConfigError) as info:
        load_people(path)
    err = info.value
    assert (err.file, err.key) == (str(path), key), str(err)
    assert fragment in err.reason and "\n" not in str(err), str(err)


def test_a_missing_or_binary_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(HallConfigError, match="cannot read the file"):
        load_people(tmp_path / "none.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[clerks]")
    with pytest.raises(HallConfigError, match="not UTF-8"):
        load_people(binary)


def test_a_file_with_only_staff_loads(tmp_path: Path) -> None:
    path = tmp_path / "staff.toml"
    path.write_text("[staff.s1]\n" + ENTRY, encoding="utf-8")
    assert load_people(path)["s1"].kind == "staff"


# ------------------------------------------------------------------ backoff


def fail(hall: People, now: float, device: str = "C-B03", who: str = "clerk-017") -> None:
    with pytest.raises(ProtocolError) as info:
        hall.settle(device, who, "clerks", False, now)
    assert info.value.code == "wrong_pin"
    assert "1701" not in str(info.value.to_dict())


def test_free_tries_then_the_lock_doubles_up_to_the_cap(people: dict[str, Person]) -> None:
    hall, now = People(people), 1000.0
    for _ in range(FREE_TRIES - 1):
        fail(hall, now)
        assert hall.locked("C-B03", "clerk-017", now) is None     # still free to try
    waits = []
    for _ in range(12):
        fail(hall, now)
        locked = hall.locked("C-B03", "clerk-017", now)
        assert locked is not None and locked.code == "sign_in_locked"
        waits.append(locked.to_dict()["retry_after"])
        assert hall.locked("C-B03", "clerk-017", now + waits[-1] - 0.01) is not None
        assert hall.locked("C-B03", "clerk-017", now + waits[-1]) is None   # over, exactly
        now += waits[-1]
    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(waits) == MAX_LOCK_S and waits[-1] == MAX_LOCK_S


def test_the_lock_counts_down_and_is_per_device_and_person(people: dict[str, Person]) -> None:
    hall, now = People(people), 50.0
    for _ in range(FREE_TRIES + 2):                # locked for 4 s from the last failure
        fail(hall, now)
    assert hall.locked("C-B03", "clerk-017", now + 1.5).to_dict()["retry_after"] == 2.5
    assert hall.locked("C-B04", "clerk-017", now) is None       # another panel
    assert hall.locked("C-B03", "clerk-018", now) is None       # another clerk here


def test_the_right_pin_clears_the_failures(people: dict[str, Person]) -> None:
    hall, now = People(people), 0.0
    for _ in range(FREE_TRIES):
        fail(hall, now)
    assert hall.locked("C-B03", "clerk-017", now) is not None
    now += 1.0                                      # waited out the first lock
    assert hall.settle("C-B03", "clerk-017", "clerks", True, now) is people["clerk-017"]
    fail(hall, now)                                 # counting starts again from nothing
    assert hall.locked("C-B03", "clerk-017", now) is None


def test_a_wrong_pin_for_an_unknown_id_backs_off_the_same(people: dict[str, Person]) -> None:
    hall = People(people)
    for _ in range(FREE_TRIES):
        fail(hall, 0.0, who="clerk-999")
    assert hall.locked("C-B03", "clerk-999", 0.5) is not None
