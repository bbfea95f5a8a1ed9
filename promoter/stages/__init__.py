"""promoter's built-in plugins, registered exactly like third-party ones (see ``promoter.plugins``).

Their hook implementations are ``trylast=True`` so that any other plugin overrides them without
depending on registration order. The Talend stages (export, map, plan, snapshot, apply, verify,
rollback) plug into the same hooks.
"""
