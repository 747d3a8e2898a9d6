"""pli's domain layer: crypto, store, lab results, transport, directory and trace.

Importable without Textual; nothing here knows about the terminal UI.
"""
