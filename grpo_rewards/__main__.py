"""``python -m grpo_rewards`` is the ``grpo-rewards`` command."""

import sys

from grpo_rewards.cli import main

sys.exit(main())
