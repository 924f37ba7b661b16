"""The devices a contract's tool reports count as retired: in an earlier report, absent from the
latest. The rule is the only reading a report allows (a device the tool no longer lists is one
it no longer manages), but it lets a report that leaves a failing device out turn a miss into a
keep. So every drill-down of a device-measured commitment names them, with the last report
that listed each, and the client can dispute the occurrence when one is still in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .backups import system_key
from .models import BackupJobRow, PatchRow
from .services import retired_devices

# The kinds measured device by device: the rows their devices come from (restore tests owe per
# protected system, the devices of the backup job reports) and how the measure tells two
# devices apart (the patch measure by the name as written; backups without case or spacing).
DEVICE_ROWS = {
    "patches": (PatchRow, str),
    "backups": (BackupJobRow, system_key),
    "restores": (BackupJobRow, system_key),
}
SHOWN = 50


@dataclass(frozen=True)
class LeftOut:
    latest: date  # the latest report's date: what "absent from the latest report" means
    devices: list[tuple[str, date]]  # (device as reported, last listed on), latest first
    more: int  # left out of the list beyond SHOWN


def devices_left_out(contract_id: int, measured_by: str, until: date) -> LeftOut | None:
    """The contract's devices counted as retired on or before `until` (an occurrence's last
    day: a device retired later still answered for the whole period), or None when none
    is, or the kind is not measured device by device."""
    if measured_by not in DEVICE_ROWS:
        return None
    model, device_key = DEVICE_ROWS[measured_by]
    seen = model.objects.filter(contract_id=contract_id).values_list("device", "last_seen")
    names: dict[str, str] = {}
    last_seen: list[tuple[str, date]] = []
    for device, day in seen.iterator():
        key = device_key(device)
        names.setdefault(key, device)
        last_seen.append((key, day))
    if not last_seen:
        return None
    retired = retired_devices(last_seen)
    left = sorted(
        ((names[key], day) for key, day in retired.items() if day < until),
        key=lambda pair: (-pair[1].toordinal(), pair[0].lower()),
    )
    if not left:
        return None
    latest = max(day for _key, day in last_seen)
    return LeftOut(latest=latest, devices=left[:SHOWN], more=max(0, len(left) - SHOWN))
