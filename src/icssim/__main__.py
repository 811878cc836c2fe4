"""``python -m icssim`` runs the command line."""

from icssim.cli import console

console()
