"""The ``emplifai`` command groups: one module per group, each exposing ``register(subparsers)``.

This is the one way to add a command: a module here, named after the group, listed in
``emplifai.cli._COMMAND_MODULES``. Command modules are entry points: they may import every layer
below them, and nothing below imports them.
"""
