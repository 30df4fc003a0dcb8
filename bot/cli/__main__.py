"""`python -m bot.cli`: the same as `duban`."""

from bot.cli import main

main()
