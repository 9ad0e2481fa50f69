/* etcd.c: not written yet */
