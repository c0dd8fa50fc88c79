"""``python -m harness`` (and ``torchrun -m harness``) runs the CLI."""

from harness.cli import main

if __name__ == "__main__":
    main()
