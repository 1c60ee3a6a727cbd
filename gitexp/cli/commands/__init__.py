"""One module per command: ``configure(parser)`` adds its arguments, ``main(args)`` runs it.

Modules import the API inside ``main`` so that ``gitexp --help`` loads none of it.
"""
