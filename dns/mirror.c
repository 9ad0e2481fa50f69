/* mirror.c: not written yet */
