"""One module per ``harness`` subcommand; each parses, calls one library function, prints."""
