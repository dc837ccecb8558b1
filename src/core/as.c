/* SPDX-License-Identifier: MIT */
/*
 * Address spaces: creation, destruction and accessors.
 *
 * An address space holds a reference on its root region and on its current
 * flat view. It is rendered when created, so accesses never see a NULL view.
 * Destruction unlinks it under the writer lock and releases the view after a
 * grace period; bounce buffers still mapped are reported and freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define GM_DEFAULT_BOUNCE_BUDGET 4096u

gm_as *gm_as_new(gm_system *sys, gm_region *root, const char *name)
{
    gm_as *as;

    if (!root || root->sys != sys) {
        errno = EINVAL;
        return NULL;
    }
    as = calloc(1, sizeof(*as));
    if (!as)
        return NULL;
    as->name = strdup(name ? name : "anonymous");
    if (!as->name) {
        free(as);
        return NULL;
    }
    as->sys = sys;
    as->root = gm_region_ref(root);
    as->bounce_budget = GM_DEFAULT_BOUNCE_BUDGET;
    pthread_mutex_init(&as->map_lock, NULL);
    gm_transaction_begin(sys);
    gm_as_render_locked(as);
    if (as->current)
        TAILQ_INSERT_TAIL(&sys->address_spaces, as, link);
    gm_transaction_commit(sys);
    if (!as->current) {
        gm_region_unref(as->root);
        pthread_mutex_destroy(&as->map_lock);
        free(as->name);
        free(as);
        errno = ENOMEM;
        return NULL;
    }
    return as;
}

void gm_as_free(gm_as *as)
{
    gm_system *sys;

    if (!as)
        return;
    sys = as->sys;
    gm_transaction_begin(sys);
    TAILQ_REMOVE(&sys->address_spaces, as, link);
    gm_flatview_unref(as->current);
    gm_transaction_commit(sys);
    gm_map_release_all(as);
    gm_region_unref(as->root);
    pthread_mutex_destroy(&as->map_lock);
    free(as->name);
    free(as);
}

const char *gm_as_name(const gm_as *as)
{
    return as->name;
}

gm_region *gm_as_root(const gm_as *as)
{
    return as->root;
}

gm_system *gm_as_system(const gm_as *as)
{
    return as->sys;
}
