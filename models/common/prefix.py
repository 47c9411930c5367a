"""How every message the plugin shows begins, so that a user reading an error in Dify knows which plugin wrote it.

A module of its own, importing nothing: the modules dify_plugin loads at start use it too, and must not load the
error mapper (and the gigachat SDK beneath it) to do so.
"""

PREFIX = "[gigachat] "
