/* wire.c: not written yet */
