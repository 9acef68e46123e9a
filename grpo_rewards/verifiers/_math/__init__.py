"""Private implementation of the ``math`` verifier (see :mod:`grpo_rewards.verifiers.math`).

- :mod:`.extract`: finding the answer in a completion and the gold in a dataset cell;
- :mod:`.normalize`: canonical answer strings and the sympy-free fast path for plain numbers;
- :mod:`.prescreen`: cheap rejection of absurd inputs (power towers, huge factorials, ...);
- :mod:`.equivalence`: math-verify + sympy comparison with exact re-checks (runs in workers);
- :mod:`.pool`, :mod:`.worker`: worker processes with hard time and memory limits;
- :mod:`.cache`: the verdict cache.

Only :mod:`.extract`, :mod:`.normalize`, :mod:`.prescreen`, :mod:`.pool` and :mod:`.cache` are
imported by the caller; sympy is imported only by worker processes.
"""
