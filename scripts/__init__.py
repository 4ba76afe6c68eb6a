"""Developer entry points: set-up, training, running the stack (called by the Makefile)."""
