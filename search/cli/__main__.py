"""`python -m search.cli`: the command line without the installed script."""

from search.cli import main

main()
