/* snapshot.c: not written yet */
