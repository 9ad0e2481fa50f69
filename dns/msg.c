/* msg.c: not written yet */
