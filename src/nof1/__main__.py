"""``python -m nof1`` runs the command-line interface."""

from nof1.cli import main

main()
