"""The old name of display.voice_build (`python -m display.voice_clips` still works)."""

from __future__ import annotations

import sys

from display.voice_build import main

if __name__ == "__main__":
    sys.exit(main())
