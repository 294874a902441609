"""`python -m feedsvc.cli`: the same command as the installed `feedsvc`."""

from feedsvc.cli import main

main()
