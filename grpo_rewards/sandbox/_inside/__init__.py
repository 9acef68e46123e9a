"""The in-sandbox side of the local sandbox, one module per trust boundary. Standard library only;
nothing here imports grpo_rewards (the worker runs it from this directory, as the top-level
package ``_inside``).

=============  ==============================================================================
module         what it holds
=============  ==============================================================================
``wire``       frames, the channel, the value codec; the only module the host imports
``kernel``     system call mechanism, capabilities, rlimits, the syscall table by name
``seccomp``    the deny policy
``bootstrap``  namespaces, the new root, the fork into the roles
``zygote``     the candidate zygote: spawn, supervise, wipe; holds no test material
``candidate``  the candidate's side (a run); trusts nothing
``rpc``        the tester's end of the RPC: the anti-forgery rules
``tester``     the job loop, deadlines, the handle on runs; the only process that sees tests
``runners``    one runner per test kind (stdio, call, assert), run in the tester
=============  ==============================================================================

docs/sandbox.md draws the processes and what crosses each boundary.
"""
