"""The console's own widgets (virtualised table, status line, prompt, weight bar)."""
