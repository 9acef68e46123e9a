"""``python -m grpo_rewards.cli``: the ``grpo-rewards`` command."""

import sys

from grpo_rewards.cli import main

sys.exit(main())
