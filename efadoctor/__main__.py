"""`python -m efadoctor`."""

from .cli import main

main(prog_name="efadoctor")
