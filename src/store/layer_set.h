/* The inside of kn_layer_set, shared by layer.c and images.c (internal to
 * src/store). */
#ifndef KN_STORE_LAYER_SET_H
#define KN_STORE_LAYER_SET_H

#include "store/store.h"

typedef struct kn_layer_item {
    kn_digest diff_id;
    int lockfd;
    bool is_needed; /* not recorded when locked */
    char *work;     /* extracted tree in the work directory; owned */
    bool is_placed; /* moved under layers/, to be recorded */
    uint64_t size;
} kn_layer_item;

struct kn_layer_set {
    kn_store *store;
    kn_layer_item *items; /* sorted by diff ID, no duplicates */
    size_t n;
};

kn_layer_item *kn_layer_set_find(kn_layer_set *ls, const kn_digest *diff_id);
/* Moves the extracted trees under layers/ (before the recording transaction). */
int kn_layer_set_place(kn_layer_set *ls, kn_err *err);

/* Records the placed layers of the set (in its own transaction when none
 * is open). */
int kn_store_record_layers(kn_store *s, kn_layer_set *ls, kn_err *err);

#endif
