"""`tf.debugging.experimental`: only `disable_dump_debug_info` (Tapeflow writes no tfdbg2 dumps,
so `enable_dump_debug_info` is absent rather than a stub)."""


def disable_dump_debug_info() -> None:
    """Turn off debug dumps: nothing to do, none are ever written."""
