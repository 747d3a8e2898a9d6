"""How many rows the message list asks the store for at a time (no Textual here: the launcher uses it).

notmuch sorts the whole result for every window call, whatever the window's
size, so a page of several screens makes most page-downs free and costs
little more than one screen.
"""
PAGE = 200
