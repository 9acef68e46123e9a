"""Refuse names grpo-rewards would reject, before anything is generated."""

import re
import sys

verifier = "{{ cookiecutter.verifier_name }}"
module = "{{ cookiecutter.module_name }}"
if not re.match(r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9_\-]+)*$", verifier):
    sys.exit(f"verifier_name {verifier!r} must be dotted lowercase (letters, digits, '_', '-'), e.g. 'my_plugin.match'")
if not module.isidentifier():
    sys.exit(f"plugin_name gives the module name {module!r}, which is not a Python identifier")
