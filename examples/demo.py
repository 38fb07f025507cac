"""The README's main job: an end-to-end run through the SDK against the local sandbox."""

import sys

print("make demo: the spine layer is not available yet; nothing to run.")
sys.exit(0)
