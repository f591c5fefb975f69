"""``python -m chalicelib.cli``: the operator CLI (``chalicelib.ops.cli``)."""
from chalicelib.ops.cli import main

if __name__ == "__main__":
    main(prog_name="python -m chalicelib.cli")
