"""Built-in verifiers. Each module here that implements a hook is a plugin: it registers its
verifiers through the ``register_verifiers`` hook, exactly as a third-party plugin would, and is
named in :data:`grpo_rewards.plugins.BUILTIN_PLUGINS` (a test fails when one is missing).
Modules whose names start with ``_`` are helpers, not plugins."""
