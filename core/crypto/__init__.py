"""Keys, pads and the sealed envelope: pli's cryptography (see docs/FORMAT.md and DESIGN.md's security model).

Modules: primitives (ChaCha20, Poly1305, OTP; native or pure backend), identity, vault (secrets at
rest), keyring, pads, ledger (pad reservations), envelope (seal/open), envelope_format (bytes),
mime (the outer mail), seen (replay check), pairing (introducing homes in-process).
"""
