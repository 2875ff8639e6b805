"""The exit codes the CLI returns, one meaning each, so scripts and CI can act on them
(docs/reliability.md has the table)."""

OK = 0  # done; monitor: no alert; canary: promoted
FAILED = 1  # a check found problems, or a call failed
BAD_INPUT = 2  # a bad argument, file, setting or state: the message says which
ALERT = 3  # monitor: skew or drift above a threshold
ROLLED_BACK = 4  # canary: the challenger was rolled back
WAIT = 5  # canary: not enough traffic yet; prod busy (its lock held); run again later
NOTHING_TO_JUDGE = 6  # canary: no challenger; monitor: a window below the minimum
PORT_IN_USE = 7  # serve: the address is taken (another server, or this one still running)
DAMAGED = 8  # a file the platform keeps (state, baseline, warehouse) is damaged or missing
INTERRUPTED = 130
