"""The one rule every backend family follows to pick its backend: an
environment variable (or an explicit override) names it, else the
platform's default.  Callers then read the backend's feature flags, never
``sys.platform``.

Used by the notification, autostart, screen-lock and tray-icon backends.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["FREEDESKTOP_PLATFORMS", "by_platform", "env_override"]

# sys.platform prefixes of the systems whose desktops follow freedesktop.org.
FREEDESKTOP_PLATFORMS = ("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")


def env_override(
    env_var: str, names: Collection[str], *, env: Mapping[str, str], override: str | None = None, what: str
) -> str | None:
    """``override``, else ``$env_var``, checked against ``names``; ``None``
    when neither says anything.  An unknown name is a ``ValueError`` naming
    the variable and the choices."""
    value = override or env.get(env_var) or None
    if value is not None and value not in names:
        raise ValueError(f"unknown {what} {value!r} in {env_var}; choose one of {', '.join(names)}")
    return value


def by_platform(platform: str, *, windows: str, macos: str, freedesktop: str, other: str = "none") -> str:
    """The default backend's name for ``platform`` (a ``sys.platform`` value)."""
    if platform == "win32":
        return windows
    if platform == "darwin":
        return macos
    if platform.startswith(FREEDESKTOP_PLATFORMS):
        return freedesktop
    return other
