"""Built-in verifiers. Each module here is a plugin: it registers its verifiers through the
``register_verifiers`` hook, exactly as a third-party plugin would. Modules whose names start
with ``_`` are helpers, not plugins."""
