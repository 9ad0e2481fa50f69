/* answer.c: not written yet */
