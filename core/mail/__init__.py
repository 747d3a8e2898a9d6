"""The mail workflows: the use cases that tie the store, the transport, crypto, the directory and the trace
together (docs/ARCHITECTURE.md).  The CLI and the TUI call these; nothing below imports them.

    send.py          one inner-mail builder; seal, queue in the outbox, the clear copy in Sent, the trace
    receive.py       what happens once a message is stored (receipts, notes): hooks given to the store
    conversation.py  notes and the conversation with one correspondent
"""
