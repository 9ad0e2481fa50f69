/* snapstore.c: not written yet */
