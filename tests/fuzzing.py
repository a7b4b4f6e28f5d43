"""How hard the fuzzers try: a bounded number of examples in CI, the full battery on request.

`TEXTDESK_FUZZ_EXAMPLES=5000 pytest tests/carriers/test_webhook_fuzz.py` runs 5,000 signed
webhooks; `TEXTDESK_FUZZ_EXAMPLES=50 pytest tests/web/test_schemathesis.py` runs 50 examples
of every API operation. Unset, each fuzzer uses its own CI default.
"""

from __future__ import annotations

import os


def examples(ci_default: int) -> int:
    """The number of examples to run: TEXTDESK_FUZZ_EXAMPLES when set, else `ci_default`."""
    asked = os.environ.get("TEXTDESK_FUZZ_EXAMPLES", "").strip()
    return int(asked) if asked else ci_default
