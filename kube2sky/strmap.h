/* strmap.h - a string-keyed hash map (open addressing, linear probing) with
 * opaque values. kube2sky's caches and the writer's view of etcd use it.
 *
 * The map copies keys; values are owned by the caller unless the map was
 * created with a free function, which it then calls on replaced, deleted
 * and remaining values. Not thread-safe.
 */
#ifndef K2S_STRMAP_H
#define K2S_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

/* free_val may be NULL (values not owned). NULL on ENOMEM. */
struct strmap *strmap_new(void (*free_val)(void *));
void strmap_free(struct strmap *m);

/* Insert or replace (the old value is freed with free_val). SKY_ENOMEM. */
int strmap_put(struct strmap *m, const char *key, void *val);
void *strmap_get(const struct strmap *m, const char *key);
bool strmap_has(const struct strmap *m, const char *key);
/* The map's own copy of key (stable until the entry is removed: growing
 * moves slots, not keys), or NULL when absent. */
const char *strmap_key(const struct strmap *m, const char *key);
/* Remove (value freed with free_val); no-op when absent. */
void strmap_del(struct strmap *m, const char *key);
/* Remove and hand the value back to the caller (not freed). */
void *strmap_take(struct strmap *m, const char *key);
size_t strmap_len(const struct strmap *m);
/* Remove every entry (values freed with free_val). */
void strmap_clear(struct strmap *m);

/* Iterate: for (size_t it = 0; strmap_next(m, &it, &k, &v);) ...
 * The map must not be modified during the iteration. */
bool strmap_next(const struct strmap *m, size_t *it, const char **key, void **val);

#endif
