"""The devices a user receives pushes on: register (upsert by token), list, remove.

A device token names one phone or browser at one push provider, so it has one owner: the user who
registered it last. Pushes still queued for the previous owner on that phone are not sent: delivery
checks that the device still belongs to the notice's reader.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from service_app.auth.models import PROVIDER_PLATFORMS, Device, User
from service_app.common.i18n import bilingual
from service_app.common.time import utcnow
from service_app.errors import NotFound, ValidationFailed
from service_app.extensions import db


def register_device(
    *,
    user: User,
    platform: str,
    provider: str,
    token: str,
    app_version: str | None = None,
    locale: str | None = None,
    now: datetime | None = None,
) -> tuple[Device, bool]:
    """Register the caller's device, or update the one with this token; returns (device, created).

    A token registered by someone else moves to the caller and is active again.
    """
    if platform not in PROVIDER_PLATFORMS[provider]:
        raise ValidationFailed(
            errors={"platform": [bilingual(f"{provider} 不支持该平台", f"{provider} does not serve this platform")]}
        )
    now = now or utcnow()
    device = db.session.scalar(select(Device).where(Device.token == token).with_for_update())
    created = device is None
    if created:
        device = Device(token=token, created_at=now)
        db.session.add(device)
    device.user_id, device.platform, device.provider = user.id, platform, provider
    device.app_version, device.locale = app_version, locale
    device.is_active, device.deactivated_at, device.updated_at = True, None, now
    db.session.commit()
    return device, created


def list_devices(*, user: User) -> list[Device]:
    """The caller's devices, newest first (deactivated ones too, so the app can register again)."""
    return list(db.session.scalars(select(Device).where(Device.user_id == user.id).order_by(Device.id.desc())))


def remove_device(*, user: User, device_id: int) -> None:
    """Remove one of the caller's devices; another user's device or an unknown id is 404."""
    if not forget_device(user_id=user.id, device_id=device_id):
        raise NotFound()
    db.session.commit()


def forget_device(*, user_id: int, device_id: int) -> bool:
    """Delete the user's device (its queued pushes go with it); flushes, does not commit. False: not theirs."""
    result = db.session.execute(
        delete(Device)
        .where(Device.id == device_id, Device.user_id == user_id)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)

