"""Local Gizwits cloud emulator: GService HTTP API, a mosquitto M2M broker and an app simulator.

Development and test tooling only; it is not shipped to HACS.
"""
