"""``python -m evagg`` runs the ``evagg`` command."""

from evagg.cli import main

if __name__ == "__main__":
    main()
