"""Voice gateway (speech in, speech out, keypad fallback): not built yet, see README.md."""
