"""Pure decision rules shared by both backends: no I/O, fully tested."""
