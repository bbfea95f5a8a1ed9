"""promoter's hooks: the markers, the specifications (the plugin contract), the plugin manager
that loads plugins, and the typed calls the engine makes into them.

- :mod:`promoter.hooks.markers` — ``hookimpl`` and ``hookspec`` (pluggy only);
- :mod:`promoter.hooks.specs` — every hook, documented (``docs/hooks.md`` is generated from it);
- :mod:`promoter.hooks.manager` — finds and registers plugins (built-ins, entry points, ``-p``,
  a pipeline's local plugins);
- :mod:`promoter.hooks.calls` — :class:`~promoter.hooks.calls.PromoterHooks`, the only code that
  calls ``pm.hook``.
"""

from __future__ import annotations

from promoter.hooks.markers import PROJECT_NAME, hookimpl, hookspec

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
